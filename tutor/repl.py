"""A terminal conversation with the tutor (`tutor ask --interactive`).

Keeps the chat history the way the Gradio chat does (assistant messages carry
their passages and mode), so Socratic hints climb and quiz replies are graded.
Slash commands switch mode and level mid-conversation.
"""

from __future__ import annotations

from typing import Callable, TextIO

from core.errors import TutorError
from core.types import Answer, Message
from tutor.backends.prompt import LEVELS
from tutor.teach.modes import MODES

HELP = ("Commands: /mode explain|socratic|quiz|path, /level beginner|practitioner, /clear (forget the chat), "
        "/quit. Anything else is a message to the tutor.")


def converse(tutor, stdin: TextIO, stdout: TextIO, print_answer: Callable[[Answer, str, TextIO], None],
             mode: str = "explain", level: str = "beginner", part: str | None = None) -> int:
    """Read messages line by line from `stdin` until EOF or /quit, streaming each reply to `stdout`.

    Returns the number of messages answered. A `TutorError` on one message is
    shown and the conversation goes on.
    """
    history: list[Message] = []
    answered = 0
    print(f"handbook-tutor ({MODES.get(mode, mode)} mode). {HELP}", file=stdout)
    while True:
        print("\nyou> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            command, _, value = text[1:].partition(" ")
            value = value.strip()
            if command in ("quit", "exit", "q"):
                break
            if command == "clear":
                history.clear()
                print("(chat cleared)", file=stdout)
            elif command == "mode" and value in MODES:
                mode = value
                print(f"(mode: {MODES[mode]})", file=stdout)
            elif command == "level" and value in LEVELS:
                level = value
                print(f"(level: {level})", file=stdout)
            else:
                print(HELP, file=stdout)
            continue
        streamed: list[str] = []
        try:
            for step in tutor.stream(text, tuple(history), mode=mode, level=level, part=part):
                if step.kind == "token":
                    streamed.append(step.text)
                    print(step.text, end="", file=stdout, flush=True)
                elif step.kind == "answer":
                    answer = step.answer
                    print_answer(answer, "".join(streamed), stdout)
                    history += [Message("user", text), remember(answer)]
                    answered += 1
        except TutorError as e:
            print(f"\nerror: {e}", file=stdout)
    return answered


def remember(answer: Answer) -> Message:
    """The assistant message to keep for an answer: its text, cited passages and mode."""
    ids = tuple(c.chunk_id for c in answer.citations) or tuple(h.chunk.id for h in answer.hits[:1])
    return Message("assistant", answer.text, ids, answer.mode)
