"""Affiliations: the organisations signatories name, folded so variants meet, and merged by
organisers.
"""
