"""Hint ladders and quiz rounds on graded-sample cases, for grading by reading (evals/graded/).

    python -m evals.modes_sample --out evals/graded/modes-after.jsonl [--n 12]

For each case: Socratic hint 1 and hint 2, then a quiz question on the case's topic, the case's key
facts given as the learner's reply (a right answer, in the question's language), and the tutor's grading.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from core.config import Settings
from core.types import Message
from evals.cases import load_cases
from evals.graded import SAMPLE
from tutor.pipeline import Tutor


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=12)
    args = p.parse_args(argv)
    tutor = Tutor(Settings.load())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cases = [c for c in load_cases([SAMPLE]) if c.answerable and not c.history and c.key_facts]
    picked = [c for c in cases if c.lang == "en"][: args.n // 2] + [c for c in cases if c.lang == "zh"][: args.n // 2]
    lines = []
    for c in picked:
        first = tutor.ask(c.question, mode="socratic")
        chat = [Message("user", c.question), Message("assistant", first.text, tuple(x.chunk_id for x in first.citations),
                                                      "socratic")]
        second = tutor.ask("hint" if c.lang == "en" else "提示", chat, mode="socratic")
        quiz = tutor.ask(c.question, mode="quiz")
        reply = "; ".join(c.key_facts)
        graded = None
        if quiz.mode == "quiz" and not quiz.refused:
            qchat = [Message("user", c.question), Message("assistant", quiz.text, tuple(h.chunk.id for h in quiz.hits), "quiz")]
            graded = tutor.ask(reply, qchat, mode="quiz")
        lines.append(json.dumps({
            "id": c.id, "pair": c.pair, "question": c.question, "gold_urls": list(c.gold_urls), "commit": commit,
            "hint1": first.text, "hint1_cites": [x.to_dict() for x in first.citations],
            "hint2": second.text, "hint2_cites": [x.to_dict() for x in second.citations],
            "quiz": quiz.text, "quiz_passage": quiz.hits[0].chunk.text if quiz.hits else "",
            "reply": reply, "grading": graded.text if graded else None,
            "grade_hints": None, "grade_quiz": None, "why": "",
        }, ensure_ascii=False))
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(len(lines), "cases written to", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
