"""Letters: creating and editing them, their versions, and which the public may see."""
