"""handbook-tutor: answers about generative AI from the Handbook's sources, with citations.

Only the data types (from `core.types`, the foundation every package shares)
are re-exported here, so importing the package is cheap.
"""

from core.types import Answer, Chunk, Citation, Document, Hit, Message, Page, Step, Turn

__version__ = "0.1.0"
__all__ = ["Answer", "Chunk", "Citation", "Document", "Hit", "Message", "Page", "Step", "Turn", "__version__"]
