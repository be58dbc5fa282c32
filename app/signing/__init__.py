"""Signing a letter: the signature lifecycle (sign, confirm, resend, withdraw), its tokens and
links, and the defences against fakes.
"""
