"""What organisers do with a letter's signatures: moderate, import, export, and the audit log that
records it.
"""
