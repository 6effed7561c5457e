"""Pure tests of ui.render: marker links, sources, escaping and text fragments."""

from __future__ import annotations

import re
import urllib.parse
from html.parser import HTMLParser

import pytest

from core.types import Answer, Citation
from tests.fakes import ADAPTER_QUOTE, ADAPTER_URL, LORA_QUOTE, LORA_URL, lora_script, make_hit
from ui.render import (
    answer_to_markdown,
    answer_to_text,
    conversation_to_markdown,
    fragment_link,
    partial_to_markdown,
    sources_to_markdown,
)
from ui.session import Exchange

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert('x')</script>"


def lora_answer(**changes) -> Answer:
    hits, _, text, citations = lora_script()
    return Answer(**{"question": "q", "text": text, "citations": citations, "hits": hits, **changes})


def fragment_text(link: str) -> str:
    return urllib.parse.unquote(link.split(":~:text=", 1)[1])


def anchors(markdown: str) -> list[str]:
    return re.findall(r"<a [^>]*>.*?</a>", markdown)


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(markdown: str) -> None:
    """Only the markup the renderer adds survives: no payload tag, no event attribute."""
    parser = TagCollector()
    parser.feed(markdown)
    for tag, attrs in parser.tags:
        assert tag in {"a", "span", "em", "br"}, tag
        assert set(attrs) <= {"href", "target", "rel", "title"}, attrs
        assert attrs.get("href", "https://").startswith(("https://", "http://")), attrs


# --- answer_to_markdown -------------------------------------------------------


def test_markers_become_links_to_the_citation_in_a_new_tab():
    md = answer_to_markdown(lora_answer())
    first = anchors(md)[0]
    assert "&#91;1&#93;</a>" in first
    assert f'href="{LORA_URL}#:~:text=' in first
    assert 'target="_blank"' in first and 'rel="noopener noreferrer"' in first
    assert 'title="We propose Low-Rank Adaptation, or LoRA' in first  # the quote on hover
    assert "[1]" not in md.split("**Sources**")[0]  # no raw marker left in the body


def test_citation_link_field_is_used_when_set():
    c = Citation(1, "id", "https://a.org/p", "T", "some quote", True, link="https://a.org/p#:~:text=given")
    md = answer_to_markdown(Answer("q", "Claim [1].", (c,)))
    assert md.count('href="https://a.org/p#:~:text=given"') == 2  # marker and sources list


def test_sources_list_follows_the_answer_with_titles_and_quotes():
    md = answer_to_markdown(lora_answer())
    body, sources = md.split("**Sources**")
    assert "LoRA freezes" in body
    items = [line for line in sources.splitlines() if line.startswith("- ")]
    assert len(items) == 2
    assert items[0].startswith("- &#91;1&#93; <a href=")
    assert "LoRA: Low\\-Rank" not in items[0]  # '-' is not markdown-escaped mid-line
    assert "LoRA: Low-Rank Adaptation of Large Language Models</a> — “We propose" in items[0]


def test_unsupported_citation_is_flagged():
    md = answer_to_markdown(lora_answer())
    items = [line for line in md.splitlines() if line.startswith("- ")]
    assert "⚠ not verified" not in items[0]
    assert items[1].endswith("⚠ not verified")
    assert "&#91;2⚠&#93;</a>" in md  # the inline marker too
    assert 'title="not verified: Adapters add' in md


def test_notes_follow_the_answer_escaped():
    md = answer_to_markdown(lora_answer(notes=("Took out 2 sentences that no source supports.", XSS_SCRIPT)))
    body, sources = md.split("**Sources**")
    assert "ⓘ Took out 2 sentences that no source supports." in body and "<script>" not in md
    assert md.index("ⓘ") > md.index("</a>")  # after the answer's text and its marker links
    assert "ⓘ" not in answer_to_markdown(lora_answer())
    text = answer_to_text(lora_answer(notes=("Took out 1 sentence that no source supports.",)))
    assert "\n(Took out 1 sentence that no source supports.)\n" in text


def test_long_quotes_are_truncated_in_the_sources_list():
    quote = "word " * 100
    c = Citation(1, "id", "https://a.org/p", "T", quote.strip(), True)
    item = answer_to_markdown(Answer("q", "Claim [1].", (c,))).splitlines()[-1]
    shown = item.split("“", 1)[1]
    assert shown.endswith("…”") and len(shown) < 215


def test_unknown_markers_and_groups():
    md = answer_to_markdown(lora_answer(text="Both [1, 2], not [7]."))
    assert "&#91;7&#93;" in md and "<a" not in md.split("not")[1].split("**Sources**")[0]
    assert len(anchors(md.split("**Sources**")[0])) == 2


def test_answer_without_citations_has_no_sources_list():
    md = answer_to_markdown(Answer("q", "The sources do not cover this. Nearest: Part II › Attention.", refused=True))
    assert md == "The sources do not cover this. Nearest: Part II › Attention."


def test_answer_markdown_is_kept():
    md = answer_to_markdown(Answer("q", "**LoRA** is:\n\n- cheap\n- small"))
    assert md.startswith("**LoRA** is:\n\n- cheap")


# --- escaping -----------------------------------------------------------------


def test_script_in_answer_is_escaped():
    md = answer_to_markdown(lora_answer(text=f"Hi {XSS_SCRIPT} [1]"))
    assert "<script" not in md
    assert "&lt;script&gt;" in md
    assert_inert(md)


def test_a_quotes_code_shows_verbatim_inert_and_without_citation_links():
    code = ('  ```python\n  x = ids[1]  # "first" <b>\n  print(f"{x}")\n  ```')
    text = f"- “Call it like this:” [1]\n{code}\n- “Another quote.” [1]"
    md = answer_to_markdown(lora_answer(text=text))
    block = re.search(r"<pre><code>(.*?)</code></pre>", md, re.S).group(1)
    # the code as written (entities the browser decodes), under its item, with no link made of its `[1]`
    assert block == 'x = ids[1]  # &quot;first&quot; &lt;b&gt;\n  print(f&quot;{x}&quot;)'
    assert md.count("&#91;1&#93;</a>") == 2 and "```" not in md
    assert "  <pre><code>" in md  # indented: it stays under its quote
    parser = TagCollector()
    parser.feed(md)
    assert {tag for tag, _ in parser.tags} <= {"a", "span", "em", "br", "pre", "code"}
    assert partial_to_markdown(text).count("<pre><code>") == 1


def test_img_in_quote_and_title_is_escaped():
    c = Citation(1, "id", "https://a.org/p", f"Title {XSS_IMG}", f'quote {XSS_IMG} and "quotes"', False)
    md = answer_to_markdown(Answer("q", f"{XSS_IMG} Claim [1].", (c,)))
    assert "<img" not in md
    assert md.count("&lt;img src=x onerror=alert(1)&gt;") == 4  # body, title, tooltip, quote
    assert_inert(md)
    # The quote's double quotes cannot break out of the title attribute.
    assert re.search(r'title="not verified: quote &lt;img[^"]*&quot;quotes&quot;"', md)


def test_attribute_breakout_in_url_is_escaped():
    c = Citation(1, "id", 'https://a.org/p" onmouseover="alert(1)', "T", "q", True)
    md = answer_to_markdown(Answer("q", "Claim [1].", (c,)))
    assert 'onmouseover="' not in md
    assert_inert(md)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", " JavaScript:x"])
def test_only_http_links_are_made(url):
    c = Citation(1, "id", url, "T", "quote", True)
    md = answer_to_markdown(Answer("q", "Claim [1].", (c,)))
    assert "href" not in md and "<script" not in md
    assert "&#91;1&#93;" in md  # the marker still shows, unlinked


def test_markdown_in_source_text_shows_as_the_page_reads_and_never_as_structure():
    c = Citation(1, "id", "https://a.org/p", "Click [me](javascript:alert(1))", "*not* `code` $$x$$ [me](javascript:x)", True)
    md = answer_to_markdown(Answer("q", "Claim [1].", (c,)))
    assert "\\[me\\](javascript:alert(1))" in md  # titles stay verbatim
    assert "“not code \\$\\$x\\$\\$ me”" in md  # quotes lose emphasis, ticks and link targets, as displayed


def test_partial_escapes_and_keeps_plain_markers():
    md = partial_to_markdown(f"LoRA [1] {XSS_IMG} & more")
    assert md == "LoRA [1] &lt;img src=x onerror=alert(1)&gt; &amp; more"


# --- sources_to_markdown ------------------------------------------------------


def test_snippets_and_quotes_show_as_the_page_reads_not_as_markdown():
    from tests.fakes import make_hit

    hit = make_hit(1, "https://example.org/lora", "LoRA", "## LoRA fine-tuning\nIt learns (_rank-decomposition matrices_) at `1e-4`.")
    assert "<br>LoRA fine-tuning It learns (rank-decomposition matrices) at 1e-4." in sources_to_markdown([hit])


def test_sources_name_handbook_places_in_english():
    from tests.fakes import make_hit

    hit = make_hit(1, "https://example.org/lora", "LoRA", "text", "第四部分：LLM 的微调方法", "低秩适配器（LoRA）")
    assert "<em>Section IV: Finetuning Methods for LLMs › Low-Rank Adapters (LoRA)</em>" in sources_to_markdown([hit])


def test_sources_list_rank_title_place_snippet():
    hits, *_ = lora_script()
    md = sources_to_markdown(hits)
    lines = md.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f'- **1.** <a href="{LORA_URL}" target="_blank"')
    assert "<em>Part III › Fine\\-tuning</em>" not in lines[0]
    assert "<em>Part III › Fine-tuning</em><br>We propose" in lines[0]
    assert "**2.**" in lines[1] and "&amp; train only those" in lines[1]


def test_sources_snippet_is_truncated_and_escaped():
    text = f"# Heading\n\n1. {XSS_SCRIPT} " + "lorem ipsum " * 50
    md = sources_to_markdown([make_hit(3, "https://a.org/x", f"T {XSS_IMG}", text)])
    snippet = md.split("<br>", 1)[1]
    assert snippet.startswith("Heading &lt;script&gt;")  # heading and list marks dropped, HTML still escaped
    assert snippet.endswith("…") and len(snippet) < 260
    assert "<em>T &lt;img src=x onerror=alert(1)&gt;</em>" in md  # no part/section: the heading
    assert_inert(md)


def test_sources_empty():
    assert "No passages" in sources_to_markdown([])


# --- fragment_link ------------------------------------------------------------


def test_fragment_uses_the_first_eight_words_and_encodes_dash_amp_comma():
    link = fragment_link("https://a.org/p", "Low-rank adaptation, or LoRA & co, freezes the weights of the model")
    assert link.startswith("https://a.org/p#:~:text=Low%2Drank%20adaptation%2C%20or%20LoRA%20%26%20co%2C")
    assert fragment_text(link) == "Low-rank adaptation, or LoRA & co, freezes the"
    encoded = link.split("text=", 1)[1]
    assert not set("-&, ") & set(encoded)


def test_fragment_short_quote_is_used_whole():
    link = fragment_link("https://a.org/p", LORA_QUOTE)
    assert fragment_text(link) == "We propose Low-Rank Adaptation, or LoRA, which freezes"
    assert fragment_text(fragment_link("https://a.org/p", "  Attention   is\tall ")) == "Attention is all"


def test_fragment_chinese_quote_is_about_twenty_characters():
    quote = "注意力机制让模型在处理每个词时动态地关注输入序列中最相关的部分"
    link = fragment_link("https://zh.example.org/attention", quote)
    start = fragment_text(link)
    assert start == quote[:20]
    assert "%E6%B3%A8" in link  # 注, percent-encoded UTF-8


def test_fragment_chinese_quote_ends_at_punctuation_rather_than_mid_word():
    quote = "注意力机制是一种让模型动态关注输入的方法，最早用于机器翻译。"
    assert fragment_text(fragment_link("https://zh.example.org/a", quote)) == "注意力机制是一种让模型动态关注输入的方法"


def test_fragment_mixed_latin_and_chinese():
    start = fragment_text(fragment_link("https://a.org", "LoRA 是一种参数高效的微调方法，它冻结预训练权重并训练低秩矩阵"))
    assert start.startswith("LoRA 是一种") and len(start) <= 22


def test_fragment_skips_markup_and_stays_on_the_first_line():
    quote = "## Low-Rank Adaptation\nLoRA **freezes** the weights"
    assert fragment_text(fragment_link("https://a.org", quote)) == "Low-Rank Adaptation"
    assert fragment_text(fragment_link("https://a.org", "\n- **LoRA** [freezes](https://x) it")) == "LoRA freezes it"


def test_fragment_drops_single_emphasis_but_keeps_snake_case_and_products():
    link = fragment_link("https://x.org/a", "LoRA learns (_rank-decomposition matrices_) for snake_case 2*3")
    assert link.endswith("text=LoRA%20learns%20%28rank%2Ddecomposition%20matrices%29%20for%20snake_case%202%2A3")
    assert fragment_link("https://x.org/a", "a *very* good idea").endswith("text=a%20very%20good%20idea")
    assert fragment_link("https://x.org/a", "window.__xss=1 and **bold**").endswith("text=window.__xss%3D1%20and%20bold")


def test_fragment_appends_to_an_existing_fragment_and_handles_empties():
    assert fragment_link("https://a.org/p#sec", "word") == "https://a.org/p#sec:~:text=word"
    assert fragment_link("https://a.org/p", "") == "https://a.org/p"
    assert fragment_link("", "quote") == ""


def test_marker_link_falls_back_to_fragment_link():
    md = answer_to_markdown(lora_answer())
    href = re.search(r'href="([^"]+)"', md).group(1)
    assert href == fragment_link(LORA_URL, LORA_QUOTE)
    assert ADAPTER_QUOTE.split()[0] in md


# --- answer_to_text (Copy answer) ---------------------------------------------


def test_copied_answer_is_plain_text_with_links():
    text = answer_to_text(lora_answer())
    lines = text.splitlines()
    assert lines[0] == "LoRA freezes the model's weights [1] and trains small low-rank matrices [2]."
    assert lines[1:4] == ["", "Sources", "[1] LoRA: Low-Rank Adaptation of Large Language Models"]
    assert lines[4].strip() == fragment_link(LORA_URL, LORA_QUOTE)
    assert lines[5].strip() == f"“{LORA_QUOTE}”"
    assert lines[6] == "[2] Parameter-efficient fine-tuning (not verified)"
    assert "&amp;" not in text and "&#" not in text and "<a" not in text  # pasted, not rendered: nothing escaped


def test_copied_refusal_has_no_sources_section():
    assert answer_to_text(Answer("q", "  Not covered.  ", refused=True)) == "Not covered."


# --- conversation_to_markdown (Export chat) -----------------------------------


def conversation() -> list[Exchange]:
    return [
        Exchange("How does LoRA cut the cost?", lora_answer(), mode="explain", level="beginner", reply_index=1),
        Exchange("Quiz me", error="⚠ the model server did not answer; start it", mode="quiz", level="practitioner",
                 part="Part III", reply_index=3),
    ]


def test_export_has_a_heading_per_question_with_mode_level_and_part():
    md = conversation_to_markdown(conversation(), "2026-11-22 08:00 UTC", {"explain": "Explain", "quiz": "Quiz"})
    lines = md.splitlines()
    assert lines[0] == "# Handbook Tutor conversation"
    assert lines[2] == "Exported 2026-11-22 08:00 UTC · 2 questions"
    assert "## 1. How does LoRA cut the cost?" in lines and "## 2. Quiz me" in lines
    assert "*Explain · beginner*" in lines and "*Quiz · practitioner · Part III*" in lines
    assert "> ⚠ the model server did not answer; start it" in lines  # an error is exported as shown
    assert md.endswith("\n") and md.index("## 1.") < md.index("## 2.")


def test_export_lists_sources_as_markdown_links_after_the_answer():
    md = conversation_to_markdown(conversation()[:1])
    body, sources = md.split("Sources:")
    assert "LoRA freezes the model&#x27;s weights [1] and trains small low-rank matrices [2]." in body
    items = [line for line in sources.splitlines() if line.startswith("- ")]
    assert items[0] == (f"- &#91;1&#93; [LoRA: Low-Rank Adaptation of Large Language Models]({fragment_link(LORA_URL, LORA_QUOTE)})"
                        f" — “{LORA_QUOTE}”")
    assert items[1].startswith(f"- &#91;2&#93; [Parameter-efficient fine-tuning]({ADAPTER_URL}#:~:text=")
    assert items[1].endswith("⚠ not verified") and "&amp; train only those" in items[1]
    assert md.splitlines()[2] == "1 question"


def test_export_escapes_html_and_keeps_link_targets_intact():
    c = Citation(1, "id", "https://en.example.org/wiki/LoRA_(method)", f"Title {XSS_IMG}", f"quote {XSS_SCRIPT}", True)
    answer = Answer("q", f"Answer {XSS_SCRIPT} [1]", (c,))
    md = conversation_to_markdown([Exchange(f"What is {XSS_IMG}?", answer)])
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;" in md and "What is &lt;img src=x onerror=alert(1)&gt;?" in md
    assert "](https://en.example.org/wiki/LoRA_%28method%29#:~:text=quote%20%3Cscript" in md  # no ( ) to end the link


def test_export_drops_non_http_links():
    c = Citation(1, "id", "javascript:alert(1)", "Evil", "quote", True)
    md = conversation_to_markdown([Exchange("q", Answer("q", "Claim [1].", (c,)))])
    assert "javascript:" not in md and "- &#91;1&#93; Evil — “quote”" in md


def test_export_of_an_empty_chat():
    assert conversation_to_markdown([]) == "# Handbook Tutor conversation\n\n0 questions\n"
