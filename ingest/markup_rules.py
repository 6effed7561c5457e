"""The patterns and small helpers behind `ingest.markup` (kept apart so each file stays short).

Every pattern here removes markup only. When a rule could eat real text (a
`{{ }}` placeholder in a prompt, `a<b` in TeX, a Python `import` line), it
is written narrowly: known Jekyll variables only, math masked first, MDX
imports only when they name a quoted module.
"""

from __future__ import annotations

import re

FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")

# Inline code, display and inline TeX: hidden from the markup rules, restored after.
MASK = re.compile(
    r"(`+)[^`\n][^\n]*?\1"
    r"|\$\$[\s\S]{1,8000}?\$\$"
    r"|\\\[[\s\S]{1,8000}?\\\]"
    r"|\\\([^\n]{1,800}?\\\)"
    r"|(?<![\\$\w])\$(?=[^\s$])[^$\n]{1,800}?(?<=[^\s\\])\$(?![\w$])"
)

HTML_HEADING = re.compile(r"<h([1-6])\b([^>]*)>(.*?)</h\1\s*>", re.S | re.I)

ADMONITION = re.compile(
    r'^[ \t]*(?:(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+"([^"]*)")?|===[ \t]+"([^"]*)")[ \t]*$', re.M
)
PANDOC_ATTRS = re.compile(r"^(#{1,6}[ \t].*?)[ \t]*\{[#.][^{}\n]*\}[ \t]*$", re.M)

_URL = r"\((?:<[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)"
_TEXT = r"((?:[^\[\]]|\[[^\[\]]*\]){0,500}?)"
IMAGE = re.compile(r"!\[([^\[\]\n]*)\](?:" + _URL + r"|\[[^\[\]\n]*\])")
LINK = re.compile(r"\[" + _TEXT + r"\]" + _URL)
REF_LINK = re.compile(r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])+)\]\[[^\[\]\n]*\]")
REF_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)[^\]\n]+\]:[ \t]*\S+(?:[ \t]+(?:\"[^\n]*\"|'[^\n]*'|\([^\n]*\)))?[ \t]*$", re.M)

# Sphinx / d2l roles such as :numref:`sec_x` and :ref:`text <target>`.
ROLE = re.compile(r":([a-z][\w-]*(?::[\w-]+)?):`([^`\n]+)`")
CITE_ROLES = {"cite", "citet", "citep", "footcite"}

# Liquid tags, Hugo shortcodes, and Jekyll variables ({{ site.x }}): never other {{ }}.
SHORTCODE = re.compile(
    r"\{%-?[\s\S]{0,2000}?-?%\}"
    r"|\{\{[<%][\s\S]{0,2000}?[>%]\}\}"
    r"|\{\{-?\s*(?:site|page|include|layout|post|paginator|jekyll|content)\b[^{}\n]*-?\}\}"
)

_HTML_TAGS = (
    "a|abbr|address|annotation|article|aside|audio|b|bdi|blockquote|body|br|button|canvas|caption|center|cite|code|"
    "col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|"
    "i|iframe|image|img|input|ins|kbd|label|li|link|main|mark|math|meta|mi|mn|mo|mrow|msub|msup|nav|noscript|object|ol|p|"
    "path|picture|pre|q|s|samp|section|semantics|small|source|span|strong|sub|summary|sup|svg|table|tbody|td|"
    "tfoot|th|thead|time|tr|u|ul|var|video|wbr"
)
# HTML tags (any case), JSX components (Capitalised) and custom elements (d-cite).
TAG = re.compile(r"</?(?:[A-Z][\w.]*|[a-z][a-z0-9]*-[\w-]+|(?i:" + _HTML_TAGS + r"))(?=[\s/>])(?:\s[^<>]*)?/?>")
BLOCK_END = re.compile(
    r"</(?:p|div|li|tr|table|ul|ol|blockquote|figure|figcaption|center|details|summary|section|dd|dt|pre)\s*>"
    r"|<(?:hr|tr|li|p)\b[^<>]*>",
    re.I,
)

_CJK_HEADINGS = (
    (re.compile(r"^[一二三四五六七八九十]+[、.．。]\s*\S"), 1),
    (re.compile(r"^第[一二三四五六七八九十百\d]+(?:部分|章|篇)[\s：:]*\S"), 2),
    (re.compile(r"^第[一二三四五六七八九十百\d]+节[\s：:]*\S"), 3),
    (re.compile(r"^\d{1,2}[、]\s*\S"), 2),
    (re.compile(r"^\d{1,2}[.．]\s*\S"), 3),
)
_GENERIC_ALT = {"", "alt text", "alt", "image", "img", "png", "jpg", "picture", "screenshot", "figure", "note", "banner"}


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split YAML (`---`) or TOML (`+++`) front matter off the top of `text`.

    Returns the top-level scalar keys (lower-cased, quotes removed) and the rest.
    """
    m = re.match(r"\A\s*(---|\+\+\+)[ \t]*\n(.*?)\n(?:\1|\.\.\.)[ \t]*(?:\n|\Z)", text, re.S)
    if not m or not re.match(r"\s*[\w-]+\s*[:=]", m.group(2)):
        return {}, text
    meta: dict[str, str] = {}
    for line in m.group(2).split("\n"):
        kv = re.match(r"^([\w-]+)\s*[:=]\s*(.*?)\s*$", line)
        if kv and kv.group(2):
            value = kv.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1].replace('\\"', '"')
            meta.setdefault(kv.group(1).lower(), value)
    return meta, text[m.end():]


def drop_mdx_module_lines(text: str) -> tuple[str, str]:
    """Remove MDX `import ... from '...'` lines and `export` blocks; return (text, exported title)."""
    lines, out, title, i = text.split("\n"), [], "", 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^import\s+(?:[\w*{}\s,]+\s+from\s+)?['\"][^'\"]+['\"];?\s*$", line):
            i += 1
            continue
        if re.match(r"^import\s*\{[^}]*$", line):  # import {\n a,\n b\n} from 'x'
            j = i + 1
            while j < len(lines) and j - i < 50 and not re.match(r"^\s*\}\s*from\s+['\"]", lines[j]):
                j += 1
            if j < len(lines) and j - i < 50:
                i = j + 1
                continue
        if re.match(r"^export\s+(?:const|let|var|default|function|async)\b", line):
            j, depth = i, 0
            while j < len(lines) and j - i < 200:
                depth += sum(lines[j].count(c) for c in "{[(") - sum(lines[j].count(c) for c in "}])")
                j += 1
                if depth <= 0 or (j < len(lines) and not lines[j].strip() and depth < 0):
                    break
            found = re.search(r"\btitle\s*:\s*[\"'`](.+?)[\"'`]", "\n".join(lines[i:j]))
            title = title or (found.group(1) if found else "")
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out), title


def liquid(m: re.Match) -> str:
    """A Liquid tag or Hugo shortcode becomes its caption/title text, or nothing."""
    tag = m.group(0)
    if re.match(r"\{%-?\s*include\b|\{\{[<%]\s*/?\s*figure\b", tag):
        cap = re.search(r"\b(?:caption|title)\s*=\s*\"([^\"]*)\"", tag)
        if cap:
            return cap.group(1)
    return ""


def image_alt(alt: str) -> str:
    alt = alt.strip()
    if alt.lower() in _GENERIC_ALT or re.fullmatch(r"[\w.-]+\.(?:png|jpe?g|gif|svg|webp)", alt, re.I):
        return ""
    return alt


def promote_cjk_headings(text: str) -> str:
    """Prefix `#` to short, isolated lines like "一、关于自学" or "第二部分 构建大语言模型"."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or len(s) > 40 or s[-1] in "。，,；;：:！!？?、":
            continue
        if (i > 0 and lines[i - 1].strip()) or (i + 1 < len(lines) and lines[i + 1].strip()):
            continue
        for pattern, level in _CJK_HEADINGS:
            if pattern.match(s):
                lines[i] = "#" * level + " " + s
                break
    return "\n".join(lines)


def trim_site_chrome(text: str) -> str:
    """Cut the comment/tip widgets that CSDN appends and the search header of an AI news site."""
    m = re.search(r"\n[ \t]*(?:•[ \t]*\d+[ \t]*\n[ \t]*点赞|评论[ \t]*\n[ \t]*添加红包)", text)
    if m and m.start() > len(text) // 2:
        text = text[:m.start()]
    head = text.split("\n", 3)
    if len(head) == 4 and head[1].strip() == "# 热门搜索 #" and head[2].strip() == "搜索":
        text = head[3]
    return text
