"""extract(): HTML (with the truncation guard), markdown/MDX/Quarto, rst, plain text, refusals."""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from functools import lru_cache

import pytest

from core.config import Settings
from core.errors import SourceError
from core.types import Page
from ingest.extract import MIN_CHARS, extract

log = logging.getLogger(__name__)

FILLER = "Policy gradient methods adjust the parameters of a policy in the direction that increases the expected return. "


def page(body: str | bytes, content_type: str, url: str = "https://example.org/post") -> Page:
    return Page(url=url, content_type=content_type, body=body.encode() if isinstance(body, str) else body, date="2024-01-02T00:00:00Z")


ARTICLE = f"""<!DOCTYPE html><html><head><title>RL notes | Blog</title>
<meta property="og:title" content="A Peek into RL"><script>var tracking = 1;</script></head>
<body><nav>Home About Tags</nav>
<main><article><header><h1>A Peek into RL</h1></header>
<div class="post-content">
<h1 id="what">What is RL?<a hidden class="anchor" aria-hidden="true" href="#what">#</a></h1>
<p>{FILLER * 3}</p>
<div>$$ V(s) = \\mathbb{{E}}[G_t \\vert S_t = s] $$</div>
<h2>Key Concepts</h2>
<ul><li>The agent acts in an <strong>environment</strong>.</li><li>It gets a reward $r$.</li></ul>
<pre><code class="language-python">def step(state):
    return policy(state)
</code></pre>
<table><thead><tr><th>n</th><th>G_t</th></tr></thead><tbody><tr><td>1</td><td>TD</td></tr></tbody></table>
<p>{FILLER * 4}</p>
</div></article></main>
<footer>Copyright footer text</footer></body></html>"""


def test_html_uses_trafilatura_when_it_keeps_the_article():
    doc = extract(page(ARTICLE, "text/html; charset=utf-8"), part="Part I", section="RL")
    assert doc.title == "A Peek into RL"
    assert doc.content_type == "text/html" and doc.lang == "en" and doc.date == "2024-01-02T00:00:00Z"
    assert (doc.part, doc.section) == ("Part I", "RL")
    assert "Policy gradient methods" in doc.text and "Key Concepts" in doc.text
    assert "tracking" not in doc.text and "Copyright footer" not in doc.text


def test_html_falls_back_to_the_container_when_trafilatura_truncates(monkeypatch):
    import trafilatura

    # What trafilatura returns on Lilian Weng's math-heavy posts: the start of the article only.
    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: "# What is RL?\n\nPolicy gradient methods adjust.")
    doc = extract(page(ARTICLE, "text/html"))
    text = doc.text
    assert text.count("Policy gradient methods") == 7
    assert "# What is RL?" in text and "## Key Concepts" in text and "What is RL?#" not in text
    assert "$$ V(s) = \\mathbb{E}[G_t \\vert S_t = s] $$" in text  # TeX source kept
    assert "- The agent acts in an environment." in text and "- It gets a reward $r$." in text
    assert "```python\ndef step(state):\n    return policy(state)\n```" in text
    assert "| n | G_t |" in text and "| 1 | TD |" in text
    assert "Home About" not in text and "Copyright" not in text and "tracking" not in text
    assert doc.title == "A Peek into RL"  # og:title when trafilatura gives no metadata


def test_html_keeps_katex_and_mathjax_tex_source(monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: "")
    html = (f'<html><body><article><p>{FILLER * 3}</p><p>Loss <span class="katex"><span class="katex-mathml"><math>'
            '<semantics><mrow><mi>x</mi></mrow><annotation encoding="application/x-tex">x^2 + y</annotation>'
            '</semantics></math></span><span class="katex-html" aria-hidden="true">x2+y</span></span> and '
            '<script type="math/tex; mode=display">\\sum_i a_i</script> end.</p></article></body></html>')
    text = extract(page(html, "text/html")).text
    assert "Loss $x^2 + y$ and $$\\sum_i a_i$$ end." in text and "x2+y" not in text


# A GitHub file or repository page, shaped like the real ones: the README is rendered only by
# the React app, from the HTML string under "richText" in its JSON payload; the HTML around it
# is the site's chrome.
GITHUB_CHROME_START = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>notes/Days/007 (speculative decoding)/README.md at main · someone/notes · GitHub</title>
<meta property="og:title" content="notes/Days/007 (speculative decoding)/README.md at main · someone/notes"></head>
<body><div class="js-header-wrapper"><a href="#start-of-content" class="skip">Skip to content</a>
<header><nav aria-label="Global"><ul><li>Product</li><li>Solutions</li><li>Open Source</li><li>Pricing</li></ul></nav>
<a href="/login">Sign in</a> <a href="/signup">Sign up</a></header></div>
<div class="application-main"><main id="js-repo-pjax-container">
<div id="repository-container-header"><a href="/someone/notes">notes</a> <span>Public</span>
<ul><li>Code</li><li>Issues</li><li>Pull requests</li><li>Actions</li><li>Security</li><li>Insights</li></ul></div>
<react-app app-name="react-code-view" initial-path="/someone/notes/blob/main/README.md">"""
GITHUB_CHROME_END = """<div data-target="react-app.reactRoot"></div></react-app></main></div>
<footer><p>© 2024 GitHub, Inc.</p><ul><li>Terms</li><li>Privacy</li><li>Status</li><li>Docs</li></ul></footer>
<div class="ajax-error-message flash flash-error" hidden>You can't perform that action at this time.</div></body></html>"""


def github_heading(level: int, text: str) -> str:
    slug = re.sub(r"\W+", "-", text.lower()).strip("-")
    return (f'<div class="markdown-heading" dir="auto"><h{level} tabindex="-1" class="heading-element" dir="auto">{text}'
            f'</h{level}><a id="user-content-{slug}" class="anchor" aria-label="Permalink: {text}" href="#{slug}">'
            '<svg class="octicon octicon-link" viewBox="0 0 16 16" aria-hidden="true"><path d="m7.7 3.2"></path></svg></a></div>')


GITHUB_README = (
    '<article class="markdown-body entry-content container-lg" itemprop="text">'
    '<p dir="auto"><a href="/someone/notes/blob/main/cover.png"><img src="cover.png" alt="cover" style="max-width: 100%;"></a></p>\n'
    '<p dir="auto">estimated time: 3 hrs</p>\n' + github_heading(1, "Speculative Decoding") +
    f'\n<p dir="auto">{FILLER * 2}</p>\n<ul dir="auto">\n<li>read the paper <a href="https://arxiv.org/abs/2211.17192" '
    'rel="nofollow">Fast Inference from Transformers via Speculative Decoding</a></li>\n</ul>\n'
    '<div class="highlight highlight-source-python notranslate position-relative overflow-auto" dir="auto">'
    '<pre><span class="pl-s1">draft</span> <span class="pl-c1">=</span> <span class="pl-en">propose</span>(<span class="pl-s1">k</span>)\n</pre>'
    '<div class="zeroclipboard-container"><clipboard-copy aria-label="Copy" class="ClipboardButton btn"></clipboard-copy></div></div>\n'
    + github_heading(2, "Notes") + '\n<p dir="auto"><img src="1.jpg" alt="note"></p></article>'
)


def github_page(payload: dict) -> str:
    script = f'<script type="application/json" data-target="react-app.embeddedData">{json.dumps(payload)}</script>'
    return GITHUB_CHROME_START + script + GITHUB_CHROME_END


@pytest.mark.parametrize("payload", [
    # a file view (github.com/OWNER/REPO/blob/BRANCH/PATH.md)
    {"payload": {"fileTree": {"Days": {"items": [{"name": "README.md", "contentType": "file"}]}},
                 "blob": {"rawLines": None, "richText": GITHUB_README, "displayName": "README.md"}}, "title": "README.md"},
    # a repository's front page (github.com/OWNER/REPO): the README among the overview files
    {"payload": {"tree": {"items": [{"name": "Days", "contentType": "directory"}], "readme": None},
                 "overview": {"overviewFiles": [{"displayName": "LICENSE", "richText": "<article><p>MIT</p></article>"},
                                                {"displayName": "README.md", "richText": GITHUB_README}]}}},
], ids=["file", "repository"])
def test_github_page_extracts_the_readme_from_its_json_payload(payload):
    doc = extract(page(github_page(payload), "text/html; charset=utf-8", url="https://github.com/someone/notes"))
    text = doc.text
    assert doc.title == "Speculative Decoding"  # the README's H1, not "README.md at main · someone/notes"
    assert text.startswith("estimated time: 3 hrs\n\n# Speculative Decoding\n\nPolicy gradient methods")
    assert "- read the paper Fast Inference from Transformers via Speculative Decoding" in text
    assert "```\ndraft = propose(k)\n```" in text and "\n## Notes" in text
    for chrome in ("Skip to content", "Sign in", "Pull requests", "Permalink", "GitHub, Inc.", "perform that action",
                   "MIT", "payload", "richText"):
        assert chrome not in text, chrome


def test_json_payload_without_a_rendered_document_leaves_the_page_as_it_was():
    scripts = ('<script type="application/json">{"payload": {"title": "A Peek into RL", "richText": null}}</script>'
               '<script type="application/json">not json</script>')
    with_scripts = ARTICLE.replace("</body>", scripts + "</body>")
    assert extract(page(with_scripts, "text/html")).text == extract(page(ARTICLE, "text/html")).text


MARKDOWN = """---
layout: post
title: "Deep RL: Pong from Pixels"
mathjax: true
---
import {Screenshot} from 'components/screenshot'
import { CourseCard } from '../../components/CourseCard'
export const metadata = {
    title: "Not this one",
}

<!-- a comment that must go -->
{% include figure.liquid path="img/pong.png" caption="The Pong game." %}
{% post_url 2016-05-31-rl %}

Intro with a [link](https://example.org/a_(b)) and ![the agent](img/agent.png) and ![alt text](x.png).
Also {{ site.baseurl }} and a [reference][ref] and <span class="x">inline html</span>.
<Callout type="info">Keep this callout text.</Callout>
<Screenshot src={COT} alt="COT" />

[ref]: https://example.org/ref

Policy Gradients
================

Math $a<b$ and $$\\frac{{1}}{{n}}$$ stay.

Sub section
-----------

```python
x = "{{ not liquid }}"  # <div> stays
```

```{.python .input}
%%tab mxnet
from mxnet import np
```

```{.python .input}
%%tab pytorch
import torch
```

""" + FILLER * 3


def test_markdown_cleanup_keeps_words_and_structure():
    doc = extract(page(MARKDOWN, "text/markdown; charset=utf-8"))
    text = doc.text
    assert doc.title == "Deep RL: Pong from Pixels" and doc.content_type == "text/markdown"
    for gone in ("layout:", "import {", "export const", "comment that", "{%", "post_url", "site.baseurl",
                 "https://", "<span", "<Callout", "Screenshot", "[ref]", "alt text", "mxnet"):
        assert gone not in text, gone
    assert "The Pong game." in text  # a figure include keeps its caption
    assert "Intro with a link and the agent and ." in text
    assert "a reference and inline html." in text and "Keep this callout text." in text
    assert "# Policy Gradients" in text and "## Sub section" in text
    assert "Math $a<b$ and $$\\frac{{1}}{{n}}$$ stay." in text
    assert 'x = "{{ not liquid }}"  # <div> stays' in text and "import torch" in text


def test_markdown_title_falls_back_to_h1_then_argument_then_url():
    body = "# First Heading\n\n" + FILLER * 3
    assert extract(page(body, "text/markdown"), title="Given").title == "First Heading"
    assert extract(page("## Only h2\n\n" + FILLER * 3, "text/markdown"), title="Given").title == "Given"
    assert extract(page("## Only h2\n\n" + FILLER * 3, "text/markdown")).title == "https://example.org/post"


def test_mdx_exported_title_fills_its_placeholder():
    body = 'export const metadata = {\n  title: "Positional embeddings",\n}\n\n# {metadata.title}\n\n{formatDate(metadata.date)}\n\n' + FILLER * 3
    doc = extract(page(body, "text/markdown"))
    assert doc.title == "Positional embeddings"
    assert doc.text.startswith("# Positional embeddings\n\nPolicy") and "formatDate" not in doc.text


RST = """Welcome to vLLM!
================

.. figure:: ./logo.png
  :width: 60%
  :alt: vLLM

.. raw:: html

   <p>raw html that must go</p>

vLLM is fast: see `the paper <https://arxiv.org/abs/2309.06180>`_ and :ref:`the meetups <meetups>`.

Documentation
-------------

.. code-block:: python
   :linenos:

   from vllm import LLM

.. toctree::
   :maxdepth: 1

   getting_started/installation

""" + FILLER * 3


def test_rst_headings_roles_and_code():
    doc = extract(page(RST, "text/x-rst; charset=utf-8"))
    text = doc.text
    assert doc.title == "Welcome to vLLM!" and doc.content_type == "text/x-rst"
    assert text.startswith("# Welcome to vLLM!") and "## Documentation" in text
    assert "see the paper and the meetups." in text
    assert "```python\nfrom vllm import LLM\n```" in text
    for gone in ("raw html", ":width:", ":linenos:", "toctree", "getting_started", "https://"):
        assert gone not in text, gone


CHINESE = """带你自学大语言模型系列 —— 前言

今天开始,我计划开启一个系列《带你自学大语言模型》,内容也已经准备了一段时间了。该系列的落脚点是“自学”和“大语言模型”。

一、关于「自学」

在我看来,相比于掌握任何一门知识或技能,你更需要掌握的,是「快速自学」这门技能。因为一旦你掌握了自学这个技能,意味着你可以学会任何你想学会的技能。

第一部分 走进大语言模型

大语言模型是当前环境下的最优解。我们先从图灵机讲起,再到今天的生成式预训练模型,一步一步看人工智能经历了什么。

评论
添加红包

请填写红包祝福语或标题
"""


def test_chinese_plain_text_gets_headings_and_loses_site_chrome():
    doc = extract(page(CHINESE, "text/plain; charset=utf-8", url="seed:004.txt"))
    assert doc.lang == "zh" and doc.content_type == "text/plain"
    assert doc.title == "带你自学大语言模型系列 —— 前言"
    assert "\n# 一、关于「自学」\n" in doc.text and "\n## 第一部分 走进大语言模型\n" in doc.text
    assert "红包" not in doc.text and doc.text.endswith("人工智能经历了什么。")


def test_plain_text_is_kept_and_links_lose_their_targets():
    body = "Notes on attention\r\n\r\n\r\n\r\nSee [the paper](https://arxiv.org/abs/1706.03762) and [code](https://x.org).   \n" + FILLER * 3
    doc = extract(page(body, "text/plain"), title="My notes")
    assert doc.title == "My notes" and doc.lang == "en"
    assert doc.text.startswith("Notes on attention\n\nSee the paper and code.\n")


def test_declared_charset_is_used():
    body = ("Café résumé naïve. " * 15).encode("latin-1")
    assert extract(page(body, "text/plain; charset=ISO-8859-1")).text.startswith("Café résumé")


@pytest.mark.parametrize("body, content_type, reason", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "unsupported content type image/png"),
    (b"%PDF-1.7\n%\xe2\xe3", "application/pdf", "unsupported content type"),
    (b"GIF89a\x00\x01\x00\x01" * 50, "text/plain", "binary"),
    (bytes(range(128, 256)) * 20, "text/plain; charset=utf-8", "cannot be decoded"),
    (b"# Too short\n\nOnly a line.", "text/markdown", "only 25 characters"),
    (b"<html><body><nav>menu</nav></body></html>", "text/html", "characters of text"),
])
def test_unusable_pages_raise_source_error_naming_the_url(body, content_type, reason):
    with pytest.raises(SourceError, match=reason) as info:
        extract(page(body, content_type, url="https://example.org/x"))
    assert str(info.value).startswith("https://example.org/x: ")


# -- the real snapshot --------------------------------------------------------

def snapshot_path():
    path = Settings().snapshot_path()
    if path is None:
        pytest.skip("no snapshot WARC beside the checkout (../shared/corpus/genai-handbook.warc.gz); set TUTOR_SNAPSHOT")
    return path


@lru_cache(maxsize=1)
def snapshot_results(path) -> tuple[tuple, tuple, float]:
    from ingest.warc import read_warc

    started = time.perf_counter()
    docs, skipped = [], []
    for p in read_warc(path):
        try:
            docs.append(extract(p))
        except SourceError as e:
            skipped.append((p.url, str(e)))
    return tuple(docs), tuple(skipped), time.perf_counter() - started


@pytest.mark.slow
def test_every_snapshot_record_extracts_or_is_skipped_with_a_reason(record_property):
    docs, skipped, seconds = snapshot_results(snapshot_path())
    record_property("documents", len(docs))
    record_property("skipped", len(skipped))
    log.info("snapshot: %d documents, %d skipped in %.1f s", len(docs), len(skipped), seconds)
    assert len(docs) + len(skipped) == 134
    assert len(docs) >= 120, skipped
    assert all("characters of text" in reason for _, reason in skipped), skipped
    assert all(len(d.text) >= MIN_CHARS and d.title for d in docs)
    assert {d.lang for d in docs} == {"en", "zh"} and sum(d.lang == "zh" for d in docs) == 5


@pytest.mark.slow
def test_lilian_weng_rl_overview_is_not_truncated():
    docs, _, _ = snapshot_results(snapshot_path())
    rl = next(d for d in docs if d.url == "https://lilianweng.github.io/posts/2018-02-19-rl-overview/")
    assert len(rl.text) >= 35_000
    assert rl.title == "A (Long) Peek into Reinforcement Learning"
    assert "# References" in rl.text and "Q-learning" in rl.text


# The pages that the snapshot cannot index, and why: each is thin in its source, not in its extraction.
# d2l.ai's front page: a title, an include of frontpage.html (not in the snapshot) and the table of contents.
THIN_IN_SOURCE = {"http://d2l.ai"}
# Short, but whole: what a reader of the page sees, so they are indexed (ingest.extract.MIN_CHARS).
SHORT_BUT_WHOLE = {
    # ml-retreat day notes: a title, the time spent and one reading; the notes themselves are scanned images.
    "https://github.com/hesamsheikh/ml-retreat/blob/main/Days/009%20%28distillation%29/README.md",
    "https://github.com/hesamsheikh/ml-retreat/blob/main/Days/020%20%28GNN%29/README.md",
    "https://github.com/hesamsheikh/ml-retreat/blob/main/Days/021%20%28GNN%2C%20Knowledge%20Graphs%29/README.md",
    "https://github.com/hesamsheikh/ml-retreat/blob/main/Days/022%20%28GNN%29/README.md",
    # promptingguide.ai's GraphPrompts page: one sentence and "More coming soon!" above the course promotions.
    "https://www.promptingguide.ai/techniques/graph",
}


@pytest.mark.slow
def test_snapshot_skips_only_the_pages_that_are_thin_in_their_source():
    docs, skipped, _ = snapshot_results(snapshot_path())
    assert {url for url, _ in skipped} == THIN_IN_SOURCE
    kept = {d.url: d for d in docs}
    assert SHORT_BUT_WHOLE <= set(kept)
    distillation = kept["https://github.com/hesamsheikh/ml-retreat/blob/main/Days/009%20%28distillation%29/README.md"]
    assert "Knowledge Distillation" in distillation.text and "Survey" in distillation.text


def github_readme_page(markdown: str) -> str:
    """The page github.com serves for a README: GitHub's chrome, the rendered markdown in the JSON payload."""
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    readme = f'<article class="markdown-body entry-content container-lg" itemprop="text">{rendered}</article>'
    return github_page({"payload": {"blob": {"rawLines": None, "richText": readme}}})


@pytest.mark.slow
def test_snapshot_github_readmes_read_the_same_from_githubs_page_as_from_their_markdown():
    """A live fetch of a github.com README (the app page) gives the words of its markdown source in the snapshot.

    Images are left out of the markdown side: its path keeps their alt texts
    ("note", "1"), while a reader of the rendered page sees the images.
    """
    pytest.importorskip("markdown_it")
    from ingest import markup
    from ingest.html_text import html_to_text
    from ingest.warc import read_warc

    checked = 0
    for p in read_warc(snapshot_path()):
        if not p.url.startswith("https://github.com/"):
            continue
        markdown = p.body.decode()
        source = markup.normalise(markup.markdown_to_text(re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown))[0])
        text, _ = html_to_text(github_readme_page(markdown), p.url)
        text = markup.normalise(text)
        want, got = Counter(re.findall(r"[^\W_]+", source.lower())), Counter(re.findall(r"[^\W_]+", text.lower()))
        assert sum((want & got).values()) >= 0.97 * sum(want.values()), p.url
        assert sum((got - want).values()) <= 1, (p.url, got - want)  # no GitHub chrome
        assert len(text) >= 0.9 * len(source), (p.url, len(text), len(source))
        if p.url not in THIN_IN_SOURCE | SHORT_BUT_WHOLE:
            assert len(text) >= 200, p.url
        checked += 1
    assert checked == 27, "the snapshot README lists 27 github.com records"
