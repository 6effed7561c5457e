"""Extraction fidelity on the real snapshot: no HTML page loses more than 5% of its article's words.

For every HTML record of `../shared/corpus/genai-handbook.warc.gz` the
reference is the page's article container (the one `ingest.html_text`
picks: `div.post-content`, `article`, `main`, ...; `#content` or `<body>`
for pages that have none of those), minus what is never article text
(scripts other than MathJax TeX, styles, navigation, footers, asides,
forms). Words are counted with their multiplicity, so a dropped paragraph
of common words counts as much as a dropped title.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from core.config import Settings
from ingest import html_text
from ingest.extract import extract

MIN_COVERAGE = 0.95
_WORD = re.compile(r"[^\W_]+")
_NOT_TEXT = ('.//script[not(starts-with(@type, "math/tex"))] | .//style | .//noscript | .//nav | .//footer'
             ' | .//aside | .//form | .//template | .//svg | .//button')


def words(text: str) -> Counter:
    return Counter(w.lower() for w in _WORD.findall(text))


def article_words(body: bytes) -> Counter:
    from lxml import html as lxml_html

    tree = lxml_html.document_fromstring(body)
    node = html_text._container(tree)
    if node is None:
        node = (tree.xpath('//*[@id="content"]') or tree.xpath("//body"))[0]
    for element in node.xpath(_NOT_TEXT):
        element.drop_tree()
    return words(node.text_content())


def test_every_html_page_keeps_95_percent_of_its_article_words():
    from ingest.warc import read_warc

    path = Settings.load(env={}).snapshot_path()
    if path is None or not path.exists():
        pytest.skip("the snapshot ../shared/corpus/genai-handbook.warc.gz is not beside the checkout")
    report, checked = [], 0
    for page in read_warc(path):
        if not page.content_type.startswith(("text/html", "application/xhtml+xml")):
            continue
        reference, got = article_words(page.body), words(extract(page).text)
        total = sum(reference.values())
        held = sum(min(n, got[w]) for w, n in reference.items())
        checked += 1
        if total and held / total < MIN_COVERAGE:
            lost = Counter({w: n - got[w] for w, n in reference.items() if n > got[w]})
            report.append(f"{page.url}: {held / total:.1%} of {total} words, most lost: {lost.most_common(8)}")
    assert checked == 11, "the snapshot README lists 11 HTML response records"
    assert not report, "\n".join(report)
