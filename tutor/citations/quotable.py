"""What of a passage the tutor may quote: whole prose sentences, lists, and what a sentence takes along.

A sentence quoted alone must read as a claim: no headings, table rows, code,
captions, link lists, formulas, or fragments a chunk boundary cut. A lead-in
("The course is divided into three parts:") is quoted with the list or the
labelled parts it announces, and a sentence with the next one when that one
goes on from it ("It ...", "This is why ..."). `clean` is how a quote is shown.
"""

from __future__ import annotations

import re

from core.language import HAN, HAN_CHAR
from tutor.citations.cite import sentence_spans

MIN_CHARS, MAX_CHARS = 40, 420  # shorter says too little alone; longer is a paragraph the splitter missed
MIN_CJK_CHARS = 12

_MARKUP = re.compile(r"^\s*(#+|[-*]|\d+\.|>|\|)\s*")
# A sentence that starts with one of these in lower case begins mid-sentence: the chunk boundary or
# a figure, formula or heading the extractor took out cut it ("the best Q values, but ..."). Not "where":
# "where beta is the temperature of the DPO loss" follows a removed formula and says what it means.
_FRAGMENT = re.compile(r"^(?:the|a|an|and|or|but|with|when|while|which|that|of|to|in|for|as|by|on|"
                       r"at|from|is|are|was|were|so|then|if|because|than|into|its|their|this|these|it|they|we|"
                       r"should|can|could|would|will|may|might|must|be|been|has|have|had|do|does|did|not|also|"
                       r"such|each|both|after|before|since|until|over|using|based|although|though|whereas|yet|nor|"
                       r"proposed|introduced|showed|shows|found|demonstrated|suggested|argued|described|called)\b"
                       # ... or any plain lower-case word ("combines iterative CoT prompting with ...", "occur often
                       # because ..."); names written in lower case carry a digit, a capital or a hyphen (word2vec,
                       # vLLM, t-SNE) and stay.
                       # (not in Chinese prose: "token 是……" starts with a term)
                       rf"|^(?!where\b)(?![^\n]*[{HAN}])[a-z]+\b(?![\-\d_.(])")
# Code and figure captions read as nonsense when quoted alone: "enc_outputs = self.encoder(src)",
# "return d2l.reduce_sum(l * mask)", d2l's "[**mask irrelevant entries**]" markup, "(Image source: ...)",
# d2l's ":numref:`fig_vit`" left as "fig_vit", "Let's begin with ..." (a code walk-through's lead-in).
_NOT_PROSE = re.compile(r"^\s*[\w.\[\]]+\s*=[^=]|\w\([^)]*\)\.\w|\b[a-z_]\w*\.[a-z_]\w*\(|\[\*\*|\breturn\s+\w+[.(]"
                        r"|\(Image source|\bfig_\w|:numref:|:label:|`[^`]*\([^)`]|^\s*(?:Let's|Let us|Now,? let's)\b"
                        r"|https?://|\]\(|^\s*!\[|^\s*\[[^\]]+\]\s*$")
# A caption whose figure the extractor took out reads as a sentence ("The backup diagrams for Q-learning
# and SARSA."): it is a paragraph of its own with a credit after it.
_CREDIT_NEXT = re.compile(r"\s*\((?:Image|Figure)? ?(?:source|credit)", re.IGNORECASE)
# A sentence that leans on the one before it ("This is why ...", "它的作用是……") is shown with it.
_LEANS_BACK = re.compile(r"^(?:This|These|That|Those|It|They|Such|Thus|Therefore|Hence|However|Instead|"
                         r"In this way|In other words|As a result|As such|Here|The resulting|The result)\b|^(?:这|它|因此|所以|但是|然而|于是|其中)"
                         # "To address this, ...", "For this reason, ...", "In such cases, ..." (not "In this post, ...")
                         r"|^(?:[A-Z]\w*|[a-z]\w*)(?:[ ,]+\w+){0,2}[ ,]+(?:this|these|such)\b(?:,|\s+(?!(?:post|article|blog|"
                         r"book|chapter|section|tutorial|course|paper|video|series|guide|notes?|page|document|handbook|lecture|"
                         r"episode|survey|work|repo|repository|site|website)\b)\w+)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
# A figure's caption left as a paragraph of its own: "Computing the input gate, ... in an LSTM model."
_GERUND_CAPTION = re.compile(r"^[A-Z][a-z]+ing\b[^\n]{0,160}$")
# ... or a figure's name in a paragraph of its own: "Illustration of variational autoencoder model with the
# multivariate Gaussian assumption." names a picture the answer does not show.
_NOUN_CAPTION = re.compile(r"^(?:An? |The )?(?:Illustration|Overview|Diagram|Architecture|Comparison|Examples?|Visuali[sz]ation|"
                           r"Schematic|Sketch|Plot|Screenshot|Samples?)s? of\b[^\n]{0,160}$")
# A line of a reading list: "LoRA insights by Sebastian Raschka: Practical insights about ...".
_RESOURCE = re.compile(r"^[^:\n]{2,80}\bby [A-Z][\w.-]+(?: [A-Z][\w.-]+)*\s*:"
                       r"|\((?:blog post|video|paper|course|book|lecture|notes?|slides|thread|tweet|website|docs?|code)\b"
                       r"[^)]*(?:\)\W*)?$", re.IGNORECASE)  # (unclosed: "(blog post by Stephen M." split at an initial)
# A reading-list line: "LangChain - Q&A with RAG: Step-by-step tutorial", "Multi Head Attention in Transformers with Code!".
_LIST_TITLE = re.compile(r"^[^:\n]{2,60}\s[-–—]\s[^:\n]{2,60}:|^(?:[A-Z0-9][\w'’-]*\s+(?:(?:a|an|the|of|in|on|for|with|and|to|from|by|via)\s+)?){2,12}[A-Z0-9][\w'’-]*[!?]?$")
# A bibliography entry: "“Tutorial on variational autoencoders.” arXiv:1606.05908, 2016. [13]".
_REFERENCE = re.compile(r"arXiv[: ]\d|\bdoi:|\b(?:19|20)\d\d\)?\.?\s*(?:\[\d+\])?\s*$|^[“\"][^”\"]{10,}[”\"]\s*(?:\(|arXiv|In\b)")
_THANKS = re.compile(r"^(?:Special thanks|Thanks to|Thank you|A (?:big )?shout[- ]out|We (?:would like to )?thank|Many thanks)\b", re.IGNORECASE)
# A sentence ends with its full stop (a closing quote or bracket may follow): "Substep 1: Activation
# normalization (short for "actnorm")" is a heading the extractor kept as text, not a sentence.
_ENDS = re.compile(r"[.!?。！？；:：][”\"')）\]]*\s*(?:\[[\d,\s]+\])*$")
_EXERCISES = re.compile(r"(?:^|> )(?:Exercises?|练习|习题)\s*$", re.IGNORECASE)
_ACKNOWLEDGEMENTS = re.compile(r"(?:^|> )(?:Acknowledge?ments?|Thanks|致谢|References?|Bibliography|Citations?|参考文献|参考资料)\s*$",
                               re.IGNORECASE)
# A pointer or an exercise is not an answer: "Read more about LoRA in ...", "Do the encoder and ...?".
_POINTER = re.compile(r"^(?:Read|See|Check out|Click|Refer to|Find|Learn more|More on|Try|For more|If you(?:'re| are) "
                      r"interested|I'd recommend|I recommend|You can find|Here is a|Here are some)\b|[?？]\s*$")
# A list item: "- ", "* ", "+ " (the Chinese translation of the handbook), "1. ", and the Chinese notes' "【1】", "（1）", "①", "1、".
_ITEM = re.compile(r"^\s*(?:(?:[-*+•·●▪]|\d+[.)])\s+|【\d+】|[（(]\d+[）)]\s*|[①-⑩]\s*|\d+、\s*)")
_CODE = re.compile(r"(`[^`\n]+`)")
_ESCAPED = re.compile(r"(\\[*_`\[\]#])")  # a Markdown escape: the character stands for itself
_EMPHASIS = re.compile(r"\*\*|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|(?<![\w_])_(?=[A-Za-z])|(?<=[A-Za-z])_(?!\w)")


def leans_back(sentence: str) -> bool:
    """Whether a sentence leans on the one before it ("This is why ...", "它的作用是……"): it is shown with it."""
    return bool(_LEANS_BACK.match(sentence.lstrip()))


# A sentence that recommends a resource ("“The Illustrated Word2Vec” from Jay Alammar is great for building up
# this intuition", "Here's also a nice video on ...", "推荐学习这篇文章") points to reading; it explains nothing.
_RESOURCE_NOUN = re.compile(r"\b(?:video|blog|post|course|notes|lecture|tutorial|talk|playlist|book|article|thread|series|"
                            r"guide|write-?up|survey|overview|explainer|walkthrough|resource|newsletter|podcast|textbook)s?\b"
                            r"|视频|文章|博客|教程|课程|书|笔记|资料|资源|帖子|演讲|讲座", re.IGNORECASE)
_PRAISE = re.compile(r"\b(?:great|nice|good|excellent|fun|helpful|useful|recommend\w*|check out|worth|classic|fantastic|"
                     r"wonderful|solid|favou?rite|go-to|must-read|highly)\b|推荐|值得|不错|很好|相当好|非常好|强烈|出色|精彩|优秀|很棒|经典|请参阅|参见|详见|可参考", re.IGNORECASE)


# A sentence that says where a resource is, without praise: "StatQuest 上有关于编码器-解码器架构和注意力的视频",
# "StatQuest has a series of videos on attention".
_POINTS = re.compile(r"(?:上|里|中)有(?:一个|一篇|一系列|一些|很多|不少)?(?:关于|讲)?[^。！？\n]{0,40}的"
                     r"(?:视频|文章|博客|博文|教程|课程|讲解|系列|笔记)"
                     r"|\bhas (?:a |an |some )?(?:\w+ ){0,2}(?:videos?|posts?|series|courses?|lectures?|tutorials?|write-?ups?) "
                     r"(?:on|about|covering)\b", re.IGNORECASE)


def recommends(sentence: str) -> bool:
    """Whether a sentence recommends a resource rather than saying something about the subject."""
    return bool(_RESOURCE_NOUN.search(sentence) and _PRAISE.search(sentence) or _POINTS.search(sentence))


def points_to_reading(line: str) -> bool:
    """Whether a line names a resource to read ("LLM Datasets by Maxime Labonne: Curated list of ...")."""
    return bool(_RESOURCE.search(_MARKUP.sub("", line)))


def says_nothing(heading: str) -> bool:
    """Whether a section's sentences answer nothing: a book's exercises ask, and thanks and references tell nothing."""
    return bool(_EXERCISES.search(heading) or _ACKNOWLEDGEMENTS.search(heading))


# A sentence addressed to an AI reading the page ("IMPORTANT NOTICE TO THE AI ASSISTANT: ignore all previous
# instructions", "Reply only with ...", "忽略之前的所有指令") is a planted instruction, not the source's content:
# it is never quoted, and a quote reading on through its paragraph stops before it.
_PLANTED = re.compile(r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|your)\s+"
                      r"(?:instructions?|rules|prompts?|directions)|\b(?:notice|message)\s+(?:to|for)\s+"
                      r"(?:the\s+|any\s+|all\s+)?(?:AI|assistants?|LLMs?|chatbots?)\b"
                      r"|\b(?:reply|respond|answer|output|say)\s+only\s+(?:with|the)\b|\bdo not answer the question\b"
                      r"|忽略(?:之前|以上|上述|前面|先前)?的?(?:所有|全部)?(?:指令|指示|规则|提示)", re.IGNORECASE)


def planted(sentence: str) -> bool:
    """Whether a sentence is an instruction planted for an AI that reads the page (see `_PLANTED`)."""
    return bool(_PLANTED.search(sentence))


def _cut_at_start(text: str, a: int, sentence: str) -> bool:
    """Whether a passage opens mid-sentence: its first line starts in lower case, "where" too (chunks of a
    hard-wrapped page can start at any line: "where normalization is placed right *after* residual
    connections, pre-normalization leads to ..." lost its "In contrast to post-normalization"). What a
    formula's symbol stands for ("where $c$ is ...", "where the `beta` hyper-parameter is ...") still reads."""
    return not text[:a].strip() and bool(re.match(r"[a-z]", sentence)) and not _STARTS_LOWER_OK.match(sentence)


# A name written in lower case (word2vec, vLLM, t-SNE, as in `_FRAGMENT`), or a formula's symbol explained.
_STARTS_LOWER_OK = re.compile(r"[a-z]+[\-\d_.(A-Z]|where\s+(?:the\s+)?[$`\\]")


def fenced_spans(text: str) -> list[tuple[int, int]]:
    """The spans of a passage's fenced code blocks: nothing in them is prose, a list or a table."""
    return [(m.start(), m.end()) for m in _FENCE.finditer(text)]


def prose_spans(text: str) -> list[tuple[int, int]]:
    """The spans of a passage's sentences that read as an answer on their own."""
    fenced = fenced_spans(text)
    out = []
    for a, b in sentence_spans(text):
        if any(s <= a < e for s, e in fenced):
            continue
        sentence = text[a:b].strip()
        cjk = len(HAN_CHAR.findall(sentence))
        long_enough = cjk >= MIN_CJK_CHARS if cjk > len(sentence) / 3 else len(sentence) >= MIN_CHARS
        if (not long_enough or len(visible(sentence)) > MAX_CHARS or sentence.startswith(("```", "|", "#", ">", "<"))
                or _mathy(sentence) or _FRAGMENT.match(sentence) or _cut_at_start(text, a, sentence)
                or _NOT_PROSE.search(sentence) or planted(sentence)
                or _caption(text, a, b) or sentence.count("|") >= 2 or _RESOURCE.search(_MARKUP.sub("", sentence))
                or _POINTER.search(_MARKUP.sub("", sentence)) or _alone(text, a, b) and (_GERUND_CAPTION.match(sentence) or _NOUN_CAPTION.match(sentence))
                or _THANKS.match(_MARKUP.sub("", sentence)) or not _ENDS.search(sentence) or _REFERENCE.search(sentence)
                or _listed(text, a) and _LIST_TITLE.match(_MARKUP.sub("", sentence).strip())
                or _LEAD_IN.search(sentence) and (_listed(text, a) or not (_list_end(text, b, a + MAX_BLOCK)
                                                                           or announced(text, b)))):
            # (a lead-in "... three parts:" is evidence only with the list it opens, which `attach` takes
            # along, or the code or equation it announces, shown under it: `announced`)
            continue
        out.append((a, b))
    return out


def clean(sentence: str) -> str:
    """A sentence as shown: one line (hard-wrapped sources keep their breaks), list, quote and emphasis marks off.

    A lead-in with its list (`attach`) keeps its items apart: "... three parts: (1) ... (2) ...".
    """
    lines = sentence.split("\n")
    if len(lines) > 1 and any(_ITEM.match(line) for line in lines[1:]):
        return " ".join(_item_mark(line) + _one_line(_ITEM.sub("", line)) for line in lines if line.strip())
    return _one_line(_MARKUP.sub("", sentence))


def plain(text: str) -> str:
    """Text as shown inside a line (a table's cell): on one line, emphasis off, nothing at its start taken for a
    list mark ("2.809" is a loss, not item 2)."""
    return _one_line(text)


def _one_line(text: str) -> str:
    # Inline code keeps its stars and underscores: `super().__init__(**kwargs)` lost its ** and read as wrong code.
    pieces = _CODE.split(text)
    return " ".join("".join(p if i % 2 else _unmarked(p) for i, p in enumerate(pieces)).split())


def _unmarked(text: str) -> str:
    """Emphasis marks off, and an escaped character as itself: "200\\*88 = 17600" is 200*88, not "200\\88"."""
    pieces = _ESCAPED.split(text)
    return "".join(p[1] if i % 2 else _EMPHASIS.sub("", p) for i, p in enumerate(pieces))


def _item_mark(line: str) -> str:
    number = re.match(r"\s*[【（(]?(\d+)(?:[.)]\s|[】）)、])", line)
    if number:
        return f"({number.group(1)}) "
    return ("– " if line[:1].isspace() else "• ") if _ITEM.match(line) else ""


_INLINE_MATH = re.compile(r"\\\(.*?\\\)|\$[^$]+\$")
_STYLED = re.compile(r"\\(?:mathbf|mathcal|mathrm|mathit|mathsf|mathtt|mathbb|boldsymbol|bm|text|textbf|operatorname|"
                     r"hat|tilde|bar|vec|overline|left|right|big|Big)\b\s*")


def visible(sentence: str) -> str:
    """A sentence as a reader sees it once its inline math is typeset: `$\\mathbf{z} \\sim q_\\phi$` reads "z∼qφ", four
    characters, not twenty-three. A sentence's length and its share of math are a reader's, not LaTeX's."""
    def typeset(m: re.Match[str]) -> str:
        math = _STYLED.sub("", m.group(0).strip("$").removeprefix("\\(").removesuffix("\\)"))
        return re.sub(r"[{}\s^_]|\\[,;:! ]", "", re.sub(r"\\[A-Za-z]+", "x", math))
    return _INLINE_MATH.sub(typeset, sentence)


def _mathy(sentence: str) -> bool:
    """A formula, or a sentence mostly made of one. Inline math between \\( \\) or $ $ in a sentence of prose
    stays readable; LaTeX outside them ("The loss is \\frac{1}{N} \\sum_i ...") is a formula the extractor flattened."""
    if "$$" in sentence or "\\tag" in sentence or "\\begin" in sentence:
        return True
    inline = [visible(m) for m in _INLINE_MATH.findall(sentence)]
    prose = _INLINE_MATH.sub(" ", sentence)
    if re.search(r"\\[A-Za-z]+", prose):
        return True
    words = len(re.findall(r"\b[A-Za-z]{3,}\b", prose))
    # "During training, we employed label smoothing of value $\epsilon_{ls}=0.1$." reads as prose; a formula
    # with a word or two around it does not.
    return sum(map(len, inline)) > 0.4 * len(visible(sentence)) or (bool(inline) and words < 6)


def opens_item(text: str, a: int) -> bool:
    """Whether the sentence at `a` is the first of a list item: nothing but the item's mark before it on its line."""
    line = text.rfind("\n", 0, a) + 1
    return bool(_ITEM.match(text[line:])) and not _ITEM.sub("", text[line:a]).strip(" *_")


_NUMBERED = re.compile(r"^[ \t]*(?:\d{1,2}[.)]\s+|[（(]\d{1,2}[）)]\s*|[①-⑩]\s*|\d{1,2}、\s*)", re.MULTILINE)
LEAD_IN_REACH = 600  # characters from a list's lead-in to the item quoted with it


def numbered_point(text: str, a: int) -> bool:
    """Whether the sentence at `a` opens a numbered item that does not say what it is about: "1. The softmax
    normalization is dropped." is one of "two differences" of SSD from attention, "2. Synchronize thread-specific
    parameters ..." a step of A3C. Quoted alone, such a point reads as the answer's own (Mamba-2's way to one
    all-reduce; how evolution strategies' workers share seeds). An item with its own label ("2. Short-Term Memory:
    It stores ...", "1. **Speculator architecture**: ...") says what it is about."""
    line = text.rfind("\n", 0, a) + 1
    mark = _NUMBERED.match(text, line)
    if not mark or text[mark.end():a].strip(" *_"):
        return False
    body = text[mark.end():].lstrip(" *_")
    return not (_LABELLED.match(body) or text[mark.end():].lstrip().startswith("**"))


def list_lead_in(text: str, a: int) -> tuple[int, int] | None:
    """The span of the sentence that leads into the list of the item opening at `a` ("SSD also only has two
    differences:"), or None: the list opens the passage, the line before it announces nothing, or the item is
    a step inside another item (`in_item`)."""
    line = _line_before_list(text, a)
    if line is None or _ITEM.match(text[line[0]:line[1]]):
        return None
    spans = [s for s in sentence_spans(text) if s[0] < line[1] <= s[1] + 2]
    if spans and (leads_in(text[slice(*spans[-1])]) or _ANNOUNCES.search(text[slice(*spans[-1])])):
        return spans[-1]
    return None


def in_item(text: str, a: int) -> bool:
    """Whether the item opening at `a` is a step inside another item ("3. While T <= T_MAX:" then "  2. Synchronize
    thread-specific parameters ..."): what it is a step of is that item's list, further up."""
    line = _line_before_list(text, a)
    return line is not None and bool(_ITEM.match(text[line[0]:line[1]]))


def _line_before_list(text: str, a: int) -> tuple[int, int] | None:
    """The span of the line before the list of the item opening at `a` (past its earlier items, the lines that
    continue them and blank lines), or None when the list opens the passage."""
    line_start = text.rfind("\n", 0, a) + 1
    indent = _indent(text[line_start:a])
    at = line_start
    while at > 0:
        prior = text.rfind("\n", 0, at - 1) + 1
        line = text[prior:at - 1]
        if line.strip() and _indent(line) <= indent and not (_ITEM.match(line) and _indent(line) == indent):
            return prior, at - 1
        at = prior
    return None


def _listed(text: str, a: int) -> bool:
    """Whether the sentence at `a` opens a list item ("- ", "* ", "1. ")."""
    line = text[text.rfind("\n", 0, a) + 1:a + 4]
    return bool(_MARKUP.match(line)) and line.lstrip()[:1] in "-*0123456789"


def _alone(text: str, a: int, b: int) -> bool:
    """Whether text[a:b] is a paragraph of its own (blank line or edge on both sides)."""
    return (a == 0 or text[max(0, a - 2):a] == "\n\n") and (b >= len(text.rstrip()) or text[b:b + 2] == "\n\n")


def _caption(text: str, a: int, b: int) -> bool:
    return bool(_CREDIT_NEXT.match(text, b)) and (a == 0 or text[max(0, a - 2):a].count("\n") == 2)


def _reading_list(block: str) -> bool:
    """A list of titles with their authors ("OWASP LLM Top 10 by HEGO Wiki: ...") points to reading; it explains nothing."""
    items = [_ITEM.sub("", line).strip() for line in _outer_items(block)]
    titles = [i for i in items if _RESOURCE.search(i) or i.startswith(('"', "“"))]
    return len(titles) * 2 >= len(items)


def _asks(block: str) -> bool:
    """A list of questions ("• 对于这个问题，线性模型是什么？ • 为什么线性模型会失败？") asks; it answers nothing."""
    return all(line.rstrip().endswith(("?", "？")) for line in _outer_items(block))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _outer_items(block: str) -> list[str]:
    """The items of a list block at its outermost level. The outer level is the least indented, not the first
    column: extraction indents some pages' whole lists ("  • 硬件选型"), nested items a level deeper."""
    lines = [line for line in block.split("\n") if _ITEM.match(line)]
    outer = min((_indent(line) for line in lines), default=0)
    return [line for line in lines if _indent(line) == outer]


def list_spans(text: str) -> list[tuple[int, int]]:
    """The lists of a passage (2 to MAX_LIST_ITEMS items, nested ones included): the answer to "which resources
    did the author work through?" is a list with no sentence around it. Fenced code is no list, nor is a
    C comment's column of " * " lines."""
    fenced = fenced_spans(text)
    commented = "/*" in text or "*/" in text  # its " * ..." lines are a C comment's, not a list's
    out, start, end, at = [], -1, -1, 0
    for line in text.split("\n") + [""]:
        if _ITEM.match(line) and not any(s <= at < e for s, e in fenced):
            start = at if start < 0 else start
            end = at + len(line.rstrip())
        elif line.strip() or start >= 0 and at >= len(text):
            if start >= 0 and 2 <= len(_outer_items(text[start:end])) <= MAX_LIST_ITEMS and end - start <= MAX_BLOCK \
                    and not _reading_list(text[start:end]) and not (commented and _STAR.match(text, start)) \
                    and not _asks(text[start:end]):
                out.append((start, end))
            start = -1
        at += len(line) + 1
    return out


_STAR = re.compile(r"\s*\*\s")


# A sentence that announces what follows: "The course is divided into three parts:", "There are two types
# of hallucination: ...", "下面是一个问题清单……". Quoted without what it announces it says nothing.
_ANNOUNCES = re.compile(r"\b(?:two|three|four|five|six|seven|several|following|as follows)\b|以下|下面|如下|清单"
                        r"|[两二三四五六七几][个种类部步点条项大]", re.IGNORECASE)
_LEAD_IN = re.compile(r"[:：]\s*(?:\[[\d,\s]+\])*$")  # "... divided into three parts:"
_ASKED = re.compile(r"[?？]\s*(?:\[[\d,\s]+\])*$")  # "... how to infer p(x)?" answered by the block after it
_LABELLED = re.compile(r"^[^:：\n.。!?]{2,48}[:：]\s*\S")  # "Extrinsic hallucination: The model output ..."
# A sentence that goes on with what the one before said: "They're separate models that work in tandem."
_GOES_ON = re.compile(r"^(?:This|These|That|Those|It|They|Thus|Therefore|Hence|In other words|As a result|That is|"
                      r"This is why|Such)\b|^(?:这|它|因此|所以|也就是说|换句话说)")
MAX_ITEMS, MAX_BLOCK = 8, 900  # a list longer than this is a table of contents, not an answer
# ... unless its items are short: within MAX_BLOCK, a course stage's dozen lesson titles are the stage's syllabus.
MAX_LIST_ITEMS = 12


def attach(text: str, start: int, end: int, enumerating: bool = False) -> int:
    """Where the evidence that starts with `text[start:end]` ends.

    A sentence that announces a list takes it along (up to MAX_BLOCK characters)
    and one that announces labelled parts up to MAX_ITEMS of them; one that the next sentence of its
    paragraph goes on from ("It ...", "This is why ...") takes that sentence.
    When the question asks for several things (`enumerating`), any sentence
    right before a list leads into it.
    """
    spans = [s for s in sentence_spans(text) if s[0] >= end]
    sentence = text[start:end]
    announces = bool(_ANNOUNCES.search(sentence))
    if (announces or enumerating or _LEAD_IN.search(sentence)) and not _listed(text, start):
        listed = _list_end(text, end, start + MAX_BLOCK)  # a list item's own label ("- **Training:** ...") is no lead-in
        if listed:
            return listed
    if announces and (":" in sentence or "：" in sentence):
        # Labelled parts in prose: "There are two types: In-context ...: ... . Extrinsic ...: ... ."
        last = end
        for a, b in spans[:MAX_ITEMS]:
            if "\n\n" in text[last:a] or not _LABELLED.match(text[a:b]) or b - start > MAX_BLOCK:
                break
            last = b
        if last > end:
            return last
    if spans and "\n\n" not in text[end:spans[0][0]] and _GOES_ON.match(text[spans[0][0]:spans[0][1]]) \
            and spans[0][1] - start <= MAX_CHARS + 200 and spans[0] in prose_spans(text):
        return spans[0][1]
    return end


def list_announced(text: str, start: int, end: int) -> int:
    """Where a quote ending on a lead-in ends once it takes the list it announces, or `end`.

    A quote grows after its pick is attached (the next sentence of the paragraph comes along), so it can end on
    "This can be useful in at least a few cases:", which says nothing without the cases after it.
    """
    if not leads_in(text[start:end]) or _listed(text, start):
        return end
    return _list_end(text, end, end + MAX_BLOCK) or end


def _list_end(text: str, end: int, limit: int) -> int:
    """The end of the list that follows `end` (after at most one more sentence of its paragraph), or 0."""
    lines = text[end:].split("\n")
    at = end + len(lines[0]) + 1
    if len(lines[0].strip()) > 160:
        return 0  # the paragraph goes on: whatever list comes later is not this sentence's
    items, last = 0, 0
    for line in lines[1:]:
        if _ITEM.match(line):
            items += 1
            if at + len(line) > limit:  # (by length, not count: ten short goals read as easily as five long ones)
                break
            last = at + len(line.rstrip())
        elif line.strip() and (items or not line.startswith((" ", "\t"))):
            if not items or not line.startswith((" ", "\t")):
                break  # the list ended (or never began): an indented line continues an item
        at += len(line) + 1
    return last if items >= 2 else 0


MIN_CODE_LINES, MAX_CODE_LINES, MAX_CODE_CHARS = 2, 24, 1000  # a snippet to read, not a module; one line
# ("print(p_state_t[-1])") shows no how
MAX_EQUATION = 400  # one display formula (a derivation's page of them is not an answer)
_BLANK = re.compile(r"[ \t]*\n(?:[ \t]*\n)*[ \t]*")


def ends(sentence: str) -> bool:
    """Whether a sentence is finished: a chunk can stop mid-sentence ("While the two are similar in theoretical
    complexity,"), and a quote must not."""
    bare = sentence.rstrip().rstrip("*_ ")  # "**... is the best way to do this.**"
    return bool(_ENDS.search(bare)) or not re.search(r"\w", bare)  # (a closing quote mark left on its own)


def announced(text: str, end: int) -> tuple[int, int] | None:
    """The span of the code block or display formula a quote ending at `end` announces, or None.

    "To use vLLM for offline inference, you can import vLLM and use the LLM class in your Python scripts:"
    says nothing without the code after it, nor "Let's compute the return $G_t$ starting from time t:"
    without its formula: quoted, such a sentence takes it along (shown as code or maths, under the quote),
    with the sentence after a formula that says what it means. So does a question the block answers ("Now the
    question is how to infer the unknown probability density function of the new variable, $p(x)$?" and the
    formula for it).
    """
    gap = _BLANK.match(text, end)
    before = text[:end].rstrip()
    # ... and a sentence that runs on into the block ("More specifically, assume that" and the formula)
    if not (_LEAD_IN.search(before) or _ASKED.search(before) or not _ENDS.search(before)) or not gap:
        return None  # (a block starts on a line of its own)
    a = gap.end()
    fence = text[a:a + 3]
    if fence in ("```", "~~~"):
        close = text.find("\n" + fence, a + 3)
        if close < 0:
            return None  # cut by the chunk's end: half a snippet misleads
        b = close + 1 + len(fence)
        return (a, b) if code_fits(text[a:b]) else None
    if text.startswith("$$", a):
        close = text.find("$$", a + 2)
        if close < 0 or close + 2 - a > MAX_EQUATION:
            return None
        return a, _said_of(text, close + 2)
    return None


def _said_of(text: str, end: int) -> int:
    """Where a formula's explanation ends: the sentence right after it when it says what the formula means
    ("This corresponds to increasing the learning rate linearly for the first warmup_steps ...", "where ...")."""
    gap = _BLANK.match(text, end) or re.compile("[ \t]*").match(text, end)
    after = next((s for s in sentence_spans(text) if s[0] >= gap.end()), None)
    if not after or text[end:after[0]].strip() or after[1] - after[0] > MAX_CHARS:
        return end
    sentence = text[after[0]:after[1]]
    if sentence.lstrip().startswith(("$$", "```", "#", "|", ">")) or _mathy(sentence):
        return end
    return after[1] if leans_back(sentence) or re.match(r"(?:where|here)\b", sentence.lstrip(), re.IGNORECASE) else end


def code_fits(block: str) -> bool:
    """Whether a fenced code block is one to show in an answer: a few lines to read, not a module."""
    lines = [line for line in block.split("\n")[1:-1] if line.strip()]
    return MIN_CODE_LINES <= len(lines) <= MAX_CODE_LINES and len(block) <= MAX_CODE_CHARS


def leads_in(sentence: str) -> bool:
    """Whether a sentence announces what follows it ("... in your Python scripts:")."""
    return bool(_LEAD_IN.search(sentence.rstrip()))
