"""Helpers every layer uses: text cleaning, countries, Markdown, logging, HTTP caching, form
fields.
"""
