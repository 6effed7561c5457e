"""Quoting the sources faithfully: what of a passage may be quoted, `[n]` citations checked against their
passages, and links that open a page scrolled to a quote. The marker's grammar is core/markers.py."""
