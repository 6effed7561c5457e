"""One question of a chat and what came back: the record the chat, its rendering and its export share."""

from __future__ import annotations

from dataclasses import dataclass

from core.types import Answer


@dataclass(frozen=True)
class Exchange:
    """One question and what came back: the answer, or the error shown instead.

    `reply_index` is the position of the reply in the chat's message list, so a
    rating of that message finds its exchange.
    """

    question: str
    answer: Answer | None = None
    error: str = ""
    mode: str = "explain"
    level: str = "beginner"
    part: str = ""
    reply_index: int = 1

    @property
    def reply(self) -> Answer:
        """The answer, or the error as an Answer (so an error can be rated and exported too)."""
        return self.answer or Answer(self.question, self.error, mode=self.mode, model="error")
