"""Email: composed from templates, queued in the outbox, delivered by workers."""
