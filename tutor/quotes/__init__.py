"""Which source sentences answer the question, and how far each quote reaches (evidence first)."""
