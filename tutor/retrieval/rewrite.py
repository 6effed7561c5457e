"""Make a follow-up question searchable on its own before retrieval.

"And how is it trained?" retrieves nothing useful: its subject is in the
previous turn. `search_query` decides whether a question leans on the
conversation (a pronoun such as "it"/"它", an opening such as "and"/"那",
or no content words of its own) and, if so, puts the subject of the
previous question in front of it. A question that names its own topic
("What is a beta-VAE?") is searched as it is, even right after another
topic: gluing every short question to the previous one drags retrieval
back to the old topic.

Rules, not the chat model: on 2 CPU cores one extra model call costs
seconds, and with one llama.cpp slot it would also evict the cached system
prompt. Strategies ("rules", "concat", "off") are chosen with
`Settings.query_rewrite`; the eval compares them (evals/cases/followups.jsonl).
"""

from __future__ import annotations

import re
from typing import Sequence

from core.language import ENGLISH_FUNCTION_WORDS, HAN_CHAR
from core.types import Message

STRATEGIES = ("rules", "concat", "off")

# Words that point back at something said before. "that" is left out: it is
# mostly a conjunction or a relative pronoun in questions.
_ANAPHORA_EN = frozenset("it its it's they them their theirs this these those such".split())
_ANAPHORA_ZH = re.compile(r"它们|它|其中|其|这个|这种|这些|这样|该方法|该模型|此方法|上述|前者|后者|那个|那种|那它")
_OPENING_EN = re.compile(r"^\s*(and|but|so|also|then|what about|how about|what else|why not|tell me more|"
                         r"more|any|can you (elaborate|explain more|give an example))\b", re.IGNORECASE)
_OPENING_ZH = re.compile(r"^\s*(那么|那|还有|另外|而且|并且|而|再|然后|所以|具体|举个例子|为什么呢|怎么说)")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*")
# Words that carry no topic: question words, auxiliaries and the learner's
# generic requests ("explain", "example"). A question made only of these
# cannot be searched without its context.
_GENERIC_EN = ENGLISH_FUNCTION_WORDS | frozenset("""
again another bad better detail details difference differences different elaborate else exactly
example examples explain explained explaining give good i idea just kind like many me mean means
meant much my need needs ok okay ones our please really shall show tell their there thing things us
use used using way ways whom work working works worse yes your
""".split())
# Chinese verbs and nouns a follow-up asks with ("怎么训练的？", "有什么优点？"): not a topic.
_GENERIC_ZH = re.compile(r"训练|工作|实现|使用|计算|理解|学习|优化|应用|运行|推理|部署|评估|例子|比较|原理|作用|优点|"
                         r"缺点|效果|意思|局限|问题|用途|好处|细节|步骤|多少|多大|为啥|能|会|要|需要|还|又")
# Chinese question and filler phrases stripped when taking a question's subject.
_FILLER_ZH = re.compile(r"什么是|是什么|是啥|什么|怎么样|怎么|如何|为什么|为何|哪些|哪个|有哪些|有什么|区别|分别|"
                        r"请问|请|解释一下|解释|介绍一下|介绍|讲讲|说说|一下|能不能|可以|吗|呢|吧|啊|的|了|是|和|与|"
                        r"具体|一般|通常|主要|到底")
_PUNCT = re.compile(r"[\s?？!！.。,，:：;；、()（）\"'“”‘’《》]+")
SUBJECT_WORDS = 12  # enough for a subject, short enough not to drown the follow-up's own words


def search_query(question: str, history: Sequence[Message] = (), strategy: str = "rules") -> str:
    """The text to retrieve with for `question`, given the chat so far.

    Args:
        question: the learner's latest message.
        history: earlier messages, oldest first; only user messages are read.
        strategy: "rules" (default: prefix the previous subject to follow-ups only),
            "concat" (prefix the whole previous question to any short question) or
            "off" (the question alone).

    Raises:
        ValueError: unknown strategy.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"query_rewrite must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    previous = [m.content for m in history if m.role == "user" and m.content.strip()]
    if strategy == "off" or not previous:
        return question
    if strategy == "concat":
        if len(question.split()) < 8 and len(question) < 40:
            return f"{previous[-1]} {question}"
        return question
    # Resolve the chat in order, so "and its cost?" after "how is it trained?"
    # after "what is LoRA?" still carries "LoRA".
    context = previous[0]
    for earlier in previous[1:]:
        context = _resolve(earlier, context)
    return _resolve(question, context)


def is_follow_up(question: str) -> bool:
    """Whether the question leans on the conversation (pronoun, opening word, or no topic of its own)."""
    words = [w.lower() for w in _WORD.findall(question)]
    if any(w in _ANAPHORA_EN for w in words) or _OPENING_EN.match(question):
        return True
    if _ANAPHORA_ZH.search(question) or _OPENING_ZH.match(question):
        return True
    return not _has_topic(question)


def subject(question: str) -> str:
    """The question's topic words: the question without its question words, fillers and punctuation."""
    english = [w for w in _WORD.findall(question) if w.lower() not in _GENERIC_EN and w.lower() not in _ANAPHORA_EN]
    chinese = [p for p in _PUNCT.split(_FILLER_ZH.sub(" ", _ANAPHORA_ZH.sub(" ", _WORD.sub(" ", question)))) if p]
    return " ".join((english + chinese)[:SUBJECT_WORDS])


def _resolve(question: str, context: str) -> str:
    if not is_follow_up(question):
        return question
    topic = subject(context)
    return f"{topic} {question}" if topic else question


def _has_topic(question: str) -> bool:
    if any(w.lower() not in _GENERIC_EN for w in _WORD.findall(question)):
        return True
    rest = _PUNCT.sub("", _GENERIC_ZH.sub("", _FILLER_ZH.sub("", _WORD.sub("", question))))
    return len(HAN_CHAR.findall(rest)) >= 2
