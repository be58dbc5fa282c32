"""The public list and what is counted about it."""
