"""A question that asks several things: "GAN 为什么能学到数据分布？实际中为什么不受欢迎了？".

Each part is searched for (tutor/retrieval/retrieve.py) and answered (tutor/quotes/evidence.py) on its own:
the passage that says why GANs fell out of favour rarely also explains the minimax theorem,
and one search for the whole question finds the part its words lean to.

A question asking a series of things ("What was the data mixed from, how does the model call a tool, and
what can't it do yet?", "X 为什么能省显存，效果怎么样？") asks one thing per clause. A part is what it asks, not the
scene the learner sets before it ("I'm reimplementing the Transformer in Equinox and it barely trains. Which optimizer
...?"): their setup shares no words with the sentence that answers, and the whole question keeps the scene. A
statement about the topic stays ("VQ-VAE picks its latent with an argmin. How does it still learn?").

A question about each of several named things ("位置偏差和曝光偏差分别是什么？", "How do GANs,
VAEs and flow-based models differ?") asks one thing per name: a sentence defining the first
answers half of it. So such a part becomes one part per name, the names list replaced by that name.
"""

from __future__ import annotations

import re

from core.language import HAN, HAN_CHAR

# After a question mark that does not end the question; before ", and what/how/does ..." in English.
_BREAK = re.compile(r"(?<=[?？])\s*(?=\S)|,?\s+and\s+(?=(?:what|how|why|whether|which|who|when|where|does|do|did|is|are|"
                    r"was|were|can|could|should)\b)", re.IGNORECASE)
MIN_CHARS = 4
_ASKS_EN = r"(?:what|how|why|which|whether|who|when|where)"
# A question word opening a sentence: that sentence asks (a clause after its comma may ask again).
# ("When the model overfits, what ..." sets a condition: "when" asks only before its verb, "When did ...")
_AUX = r"(?:is|are|does|do|did|can|could|should|would|will|was|were|has|have)"
_OPENS_ASKING = re.compile(rf"^\W*(?:(?:what|how|why|which|whether|who)\b|(?:when|where)\s+{_AUX}\b|{_AUX}\b)",
                           re.IGNORECASE)
_ASKS_ZH = re.compile(r"为什么|为何|怎么|怎样|如何|什么|哪|是否|吗|呢|多少")  # (not 几: "只有几 MB 的权重")
# A clause after a comma that asks again: ", how does the model ..." after a clause that asked already.
_SERIES_EN = re.compile(rf",\s+(?={_ASKS_EN}\b\s+\S+\s+\S+)", re.IGNORECASE)
_SERIES_ZH = re.compile(r"，")
# A sentence that ends before another one starts ("... barely trains. Which ..."), by its full stop.
_STATEMENT = re.compile(r"(?<=[.!])\s+(?=[A-Z\"'“(])|(?<=[。！])")
# The learner speaking of themselves ("I'm reimplementing ...", "our product", "我们只有两台机器"): a statement with
# these sets their scene. One about the topic ("VQ-VAE picks its latent with an argmin.") says what is asked about.
FIRST_PERSON_EN = r"(?:I|I'm|I've|I'd|I'll|me|my|we|we're|we've|we'd|we'll|us|our)"
FIRST_PERSON_ZH = r"(?:我们|我|咱们)"
_ABOUT_THE_LEARNER = re.compile(rf"(?<![\w'’])(?<!Part ){FIRST_PERSON_EN}(?![\w'’])|{FIRST_PERSON_ZH}")

# Chinese names joined by 、 (with a last 和/与/及), or "A 和 B" right before a word that asks about each or their
# difference. A name does not run over a particle or a question word, so "LSTM 里的输入门" gives "输入门".
_ZH_JOIN = r"(?:、|以及|和|与|及|跟|或)"
_ZH_STOP = r"的里是在把被比跟到都又各有什么怎么如何哪分别相区不，。？！；：,.?!;:（）()“”\"'"
_ZH_NAME = rf"[^{_ZH_STOP}\s](?:[^{_ZH_STOP}]*[^{_ZH_STOP}\s])?"
_ZH_NAMES = re.compile(rf"{_ZH_NAME}(?:\s*{_ZH_JOIN}\s*{_ZH_NAME})+")
_CHINESE_ONLY = re.compile(rf"^[{HAN}]+$")
_ZH_EACH = re.compile(r"^\s*(?:两种|三种|几种|两个|三个|之间|到底)?\s*(?:分别|各自|各|的?区别|有什么区别|有什么不同|有何不同|的?不同|差别|差异|相比|对比)")
# "推测性解码和 FlashAttention 都能让推理变快，它们的提速原理有什么区别？": both names, what they share, then their
# difference later in the question (before its question mark).
_ZH_BOTH = re.compile(r"^\s*(?:都|同样|也都|虽然都)[^？?。！!]{0,40}?(?:区别|不同|不一样|差别|差异|异同)")
# "边缘图、涂鸦或人体骨架这类条件": examples of something asked about, not the things asked about.
_ZH_EXAMPLES = re.compile(r"这类|这些|之类|这样|^\s*等")
# English: "the difference between A, B and C", "How do A and B differ", "A vs. B", "What are A, B and C?".
_EN_NAME = r"[\w][\w\-+.'()]*(?: [\w\-+.'()]+){0,4}?"
_EN_NAMES = re.compile(rf"(?:difference between|differences between|compare|\b(?:do|does|are|is))\s+"
                       rf"((?:{_EN_NAME},\s+)*{_EN_NAME},?\s+(?:and|or|vs\.?|versus)\s+{_EN_NAME})"
                       rf"(?=\s+(?:differ|compare)|\s*\?|\s+(?:in|for|when|with|on|at|during|under)\b[^?,]*\?|$)", re.IGNORECASE)
_EN_ASKS_EACH = re.compile(r"\b(?:differ\w*|difference|compare\w*|vs\.?|versus|each|respectively)\b|^\s*what (?:are|is) \w",
                           re.IGNORECASE)
# "Which lessons are about image generation, low-code tools and AI agents?": a question for several things by name
# (which or what, then a plural) asks for one per name listed after it.
_EN_WHICH = re.compile(r"^\W*(?:which|what)\s+(?:\w+\s+){0,2}\w{3,}s\b", re.IGNORECASE)
_EN_LISTED = re.compile(rf"\b(?:about|on|cover|covers|covering|teach|teaches|for|with|to)\s+"
                        rf"((?:{_EN_NAME},\s+)+{_EN_NAME},?\s+(?:and|or)\s+{_EN_NAME})\s*[?？]?\s*$", re.IGNORECASE)
_NOT_A_NAME = re.compile(r"^[一二三四五六七八九十]|^(?:what|how|why|which|who|when|where|whether|it|its|they|their|this|that)\b|\s(?:is|are|does|do)\s"
                         r"|哪些|哪个", re.IGNORECASE)


def parts(question: str) -> list[str]:
    """The parts of a question that asks several things, or [question]."""
    return [text for text, _ in named_parts(question)]


def named_parts(question: str) -> list[tuple[str, str]]:
    """Each part of the question with the name it asks about ("" when it asks about no one name)."""
    found = [p.strip() for p in _BREAK.split(question.strip()) if p and len(p.strip()) >= MIN_CHARS]
    found = [clause for part in found for clause in _series(part)]
    found = [_asked(p) for p in found] if len(found) > 1 else [question]
    expanded = [each for part in found for each in _each_name(part)]
    return expanded if len(expanded) > 1 else [(question, "")]


def rendered_parts(question: str, english: str) -> list[tuple[str, str]]:
    """Each part of `question` as its English rendering asks it, part for part; ("", "") for every part when the
    rendering splits otherwise.

    `english` may run on past the translation with the glossary's names of the question's terms ("... at the end
    of the paper? Markov Models parameters Bayesian"): those make a part after the last that asks nothing, and
    are no part's rendering.
    """
    asked = named_parts(question)
    found = named_parts(english) if english else []
    while len(found) > len(asked) and not _asks(found[-1][0]):  # (the names ask nothing: "Markov Models Bayesian")
        found.pop()
    # (a rendering split more finely than the question pairs no part with its own: "X 是什么，是谁命名的？" is one
    # part, "What is X, and who named it?" two)
    return found if len(found) == len(asked) else [("", "")] * len(asked)


def _asked(part: str) -> str:
    """A part without the statements that set the learner's scene: "I use X. How does Y work" asks "How does Y work"."""
    starts = [0] + [m.end() for m in _STATEMENT.finditer(part)]
    kept = 0
    while kept + 1 < len(starts) and part[starts[kept + 1]:].strip():
        sentence = part[starts[kept]:starts[kept + 1]]
        if _asks(sentence) or not _ABOUT_THE_LEARNER.search(sentence):
            break
        kept += 1
    return part[starts[kept]:].strip()


def _asks(sentence: str) -> bool:
    s = sentence.strip()
    return s.endswith(("?", "？")) or bool(_OPENS_ASKING.search(s)) or (
        bool(HAN_CHAR.search(s)) and bool(_ASKS_ZH.search(s)) and not s.endswith(("。", "！", ".", "!")))


def _series(part: str) -> list[str]:
    """A part asking one thing after another, by commas: "What was X, how does Y" asks X and Y.

    A clause asks again only after a clause that asked: "In Weng's post, what form ..." and "我在用 X 练，
    Q-learning 和 SARSA 区别在哪？" each ask one thing; "Before I try X, what A, which B" asks two.
    """
    last = _STATEMENT.split(part)[-1]
    head = part[:len(part) - len(last)]
    if HAN_CHAR.search(last):
        clauses = _SERIES_ZH.split(last)
        asking = [bool(_ASKS_ZH.search(c)) for c in clauses]
        if len(clauses) < 2 or not all(asking) or any(len(c.strip()) < MIN_CHARS for c in clauses):
            return [part]
        return [head + clauses[0]] + [c.strip() for c in clauses[1:]]
    clauses = _SERIES_EN.split(last)
    if len(clauses) > 1 and not _OPENS_ASKING.search(clauses[0]):  # "Before I try X, what ...": the scene stays
        clauses = [f"{clauses[0]}, {clauses[1]}"] + clauses[2:]
    if len(clauses) < 2:
        return [part]
    return [head + clauses[0]] + [c.strip() for c in clauses[1:]]


def names(part: str) -> tuple[int, int, list[str]] | None:
    """Where a part lists the things it asks about each of, and their names; None if it lists none."""
    for m in _ZH_NAMES.finditer(part):
        listed = [n.strip() for n in re.split(_ZH_JOIN, m.group(0)) if n.strip()]
        after = part[m.end():]
        both = _ZH_BOTH.search(after)  # the names end where 都 starts: none ran on into a verb
        if (("、" in m.group(0) or _ZH_EACH.search(after) or both) and not _ZH_EXAMPLES.search(m.group(0))
                and not _ZH_EXAMPLES.search(after[:3]) and _usable(listed)):
            end, longest = m.end(), max(len(n) for n in listed[:-1])
            if not both and all(_CHINESE_ONLY.match(n) for n in listed) and len(listed[-1]) > longest + 1:
                # "输入门、遗忘门、输出门控制什么": the last name ran on into the verb
                end -= len(listed[-1]) - longest
                listed[-1] = listed[-1][:longest]
            return m.start(), end, listed
    m = _EN_NAMES.search(part)
    if not (m and _EN_ASKS_EACH.search(part)):
        m = _EN_LISTED.search(part) if _EN_WHICH.search(part) else None
    if m:
        start = m.start(1)
        between = re.search(r"^.*\bbetween\s+", m.group(1))  # "is the difference between A and B": A, B
        if between:
            start += between.end()
        listed = [re.sub(r"^(?:the|a|an)\s+", "", n.strip(), flags=re.IGNORECASE)  # "the position": "position"
                  for n in re.split(r",\s+(?:and\s+|or\s+)?|\s+(?:and|or|vs\.?|versus)\s+", part[start:m.end(1)])]
        if _usable(listed):
            return start, m.end(1), listed
    return None


def _usable(listed: list[str]) -> bool:
    return len(listed) >= 2 and all(len(n) >= 2 and not _NOT_A_NAME.search(n) for n in listed)


def _each_name(part: str) -> list[tuple[str, str]]:
    found = names(part)
    if not found:
        return [(part, "")]
    start, end, listed = found
    return [(f"{part[:start]}{name}{part[end:]}", name) for name in listed]
