"""The searchable index: embeddings in FAISS, a BM25 leg, a SQLite store; built atomically.

Import the submodules (`index.build`, `index.search`, `index.embed`) directly;
this package imports nothing heavy.
"""
