"""Organiser accounts and who may do what on which letter."""
