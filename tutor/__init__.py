"""handbook-tutor: answers about generative AI from the Handbook's sources, with citations.

Only the data types are re-exported here, so importing the package is cheap
and `ingest`/`index` can depend on `tutor.types` without import cycles.
"""

from tutor.types import Answer, Chunk, Citation, Document, Hit, Message, Page, Step, Turn

__version__ = "0.1.0"
__all__ = ["Answer", "Chunk", "Citation", "Document", "Hit", "Message", "Page", "Step", "Turn", "__version__"]
