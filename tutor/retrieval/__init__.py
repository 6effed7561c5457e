"""Finding the passages: hybrid search, a Chinese question crossed into English, follow-ups made searchable,
a question split into its parts, and the reranker trained on the corpus itself."""
