"""Write an eval run: summary.json, results.jsonl, report.md, report.html and PNG plots.

The markdown and the HTML are rendered from the same tables, so they always
agree. All case and answer text is HTML-escaped: questions and model output
are data, never markup.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from typing import Sequence

from evals.metrics import ANSWER_METRICS, JUDGED_METRICS, RATES, RETRIEVAL_METRICS

log = logging.getLogger(__name__)

PAIRS = ("en-en", "zh-en", "zh-zh", "oos")
HEADLINE = RETRIEVAL_METRICS + ANSWER_METRICS + RATES + (
    "refusal_accuracy", "refusal_precision", "refusal_recall", "ttft_ms_p50", "ttft_ms_p95", "total_ms_p50",
    "total_ms_p95", "retrieval_ms_p50", "retrieval_ms_p95")
BY_PAIR = ("hit@5", "mrr@10", "ndcg@10", "citation_recall", "faithfulness", "key_fact_recall",
           "answer_language_match", "quoted_fallback_rate", "refusal_accuracy")
Table = tuple[str, list[str], list[list[str]]]  # title, header, rows


def _fmt(value, name: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if "_ms" in name:
            return f"{value:.0f}" if value >= 100 else f"{value:.1f}"
        return f"{value:.3f}"
    return str(value)


def _round(obj):
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def tables(summary: dict, records: Sequence[dict]) -> list[Table]:
    """The report's tables: overall, by language pair, by handbook part, by turn (if follow-ups ran), misses."""
    configs = summary["configs"]
    names = list(configs)
    out: list[Table] = []
    present = [m for m in HEADLINE if any(m in c["overall"] for c in configs.values())]
    rows = [["n (cases)"] + [_fmt(configs[c]["overall"].get("n")) for c in names]]
    rows += [[m + (" †" if m in JUDGED_METRICS else "")] + [_fmt(configs[c]["overall"].get(m), m) for c in names]
             for m in present]
    out.append(("Overall", ["metric"] + names, rows))
    rows = []
    for pair in PAIRS:
        for m in BY_PAIR:
            cells = [configs[c]["by_pair"].get(pair, {}).get(m) for c in names]
            if any(v is not None for v in cells):
                n = max((configs[c]["by_pair"].get(pair, {}).get("counts", {}).get(m, 0) for c in names), default=0)
                rows.append([pair, m, str(n)] + [_fmt(v) for v in cells])
    out.append(("By language pair", ["pair", "metric", "n"] + names, rows))
    rows = []
    for part in sorted({p for c in configs.values() for p in c["by_part"]}):
        groups = [configs[c]["by_part"].get(part, {}) for c in names]
        for m in ("hit@5", "citation_recall"):
            if any(g.get(m) is not None for g in groups):
                n = max(g.get("counts", {}).get(m, 0) for g in groups)
                rows.append([part, m, str(n)] + [_fmt(g.get(m)) for g in groups])
    out.append(("By handbook part", ["part", "metric", "n"] + names, rows))
    turns = sorted({t for c in configs.values() for t in c.get("by_turn", {})})
    if "follow-up" in turns:  # follow-ups are retrieved with the chat so far (evals/cases/followups.jsonl)
        rows = []
        for turn in turns:
            groups = [configs[c]["by_turn"].get(turn, {}) for c in names]
            for m in ("hit@1", "hit@5", "mrr@10", "citation_recall"):
                if any(g.get(m) is not None for g in groups):
                    n = max(g.get("counts", {}).get(m, 0) for g in groups)
                    rows.append([turn, m, str(n)] + [_fmt(g.get(m)) for g in groups])
        out.append(("By turn", ["turn", "metric", "n"] + names, rows))
    out.append(_misses(records, names[0] if names else ""))
    return out


def _misses(records: Sequence[dict], config: str, limit: int = 25) -> Table:
    """The first config's worst cases: gold not in the top 10, wrong refusals, weak citations or key facts."""
    rows = []
    for r in records:
        if r["config"] != config:
            continue
        if r["suite"] == "retrieval" and r.get("hit@10") == 0.0:
            top = r["hits"][0]["url"] if r["hits"] else ""
            rows.append([r["id"], r["pair"], "gold not in top 10", r["question"], f"top: {top}"])
        elif r["suite"] == "answers" and r["answerable"] == r.get("refused", False):
            rows.append([r["id"], r["pair"], "refused" if r["refused"] else "answered out-of-scope", r["question"],
                         r["answer"]["text"][:160]])
        elif r["suite"] == "answers" and not r.get("refused"):
            weak = [f"{m.replace('_', ' ')} {_fmt(r[m])}" for m in ("citation_recall", "key_fact_recall")
                    if r.get(m) is not None and r[m] < 0.5]
            if weak:
                rows.append([r["id"], r["pair"], ", ".join(weak), r["question"], r["answer"]["text"][:160]])
    return (f"Misses of {config} (first {limit} of {len(rows)})", ["id", "pair", "why", "question", "detail"],
            rows[:limit])


def plots(out_dir: Path, summary: dict, records: Sequence[dict]) -> list[str]:
    """Draw the PNG plots that have data; returns their file names."""
    import matplotlib  # heavy: only when a report draws its charts

    matplotlib.use("Agg")  # no display: CI and servers
    import matplotlib.pyplot as plt  # heavy: only when a report draws its charts

    configs = summary["configs"]
    names = list(configs)
    width = 0.8 / max(len(names), 1)
    files = []

    def grouped(ax, labels, values_of, title):
        for i, name in enumerate(names):
            values = [values_of(name, label) or 0.0 for label in labels]
            ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(labels))], labels, rotation=20, ha="right")
        ax.set_ylim(0, 1)
        ax.set_title(title)

    pairs = [p for p in PAIRS if any(configs[c]["by_pair"].get(p, {}).get("hit@5") is not None for c in names)]
    if pairs:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
        for ax, m in zip(axes, ("hit@5", "mrr@10")):
            grouped(ax, pairs, lambda c, p, m=m: configs[c]["by_pair"].get(p, {}).get(m), f"{m} by language pair")
        axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        files.append(_save(fig, out_dir / "retrieval_by_pair.png"))
    answer = [m for m in ANSWER_METRICS + ("refusal_accuracy",) if any(m in configs[c]["overall"] for c in names)]
    if set(answer) & set(ANSWER_METRICS):  # a retrieval run has only the predicted refusals: no plot
        fig, ax = plt.subplots(figsize=(11, 3.8))
        grouped(ax, answer, lambda c, m: configs[c]["overall"].get(m), "answer metrics by config")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        files.append(_save(fig, out_dir / "answers_by_config.png"))
    kinds = [k for k in ("retrieval_ms", "total_ms") if any(r.get(k) is not None for r in records)]
    if kinds:
        fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 3.4), squeeze=False)
        for ax, kind in zip(axes[0], kinds):
            for name in names:
                values = [r[kind] for r in records if r["config"] == name and r.get(kind) is not None]
                if values:
                    ax.hist(values, bins=30, histtype="step", label=name, linewidth=1.5)
            ax.set_title(f"{kind} per case")
            ax.set_xlabel("ms")
        axes[0][0].legend(fontsize=8)
        files.append(_save(fig, out_dir / "latency.png"))
    plt.close("all")
    return files


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path.name


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _intro(summary: dict) -> list[str]:
    judged = summary.get("judge")
    lines = [f"Suite **{summary['suite']}**, {summary['cases']['n']} cases, created {summary['created']}. "
             f"Primary metric: **{summary['primary_metric']}**.",
             f"Seconds per config: {', '.join(f'{k} {v}' for k, v in summary['seconds_per_config'].items())}."]
    if judged:
        lines.append(f"† judged by `{judged}`; retrieval, refusal, quote and language numbers are exact.")
    if summary["suite"] == "retrieval":
        lines.append("Refusal numbers in a retrieval run are the decision `Tutor.covers` takes before any generation.")
    missing = {u: ids for m in summary["gold_urls_not_indexed"].values() for u, ids in m.items()}
    if missing:
        lines.append(f"Warning: {len(missing)} gold URLs are in no indexed document, so their cases cannot hit: "
                     + "; ".join(f"{u} ({', '.join(ids[:3])}{'…' if len(ids) > 3 else ''})" for u, ids in missing.items()))
    return lines


def markdown(summary: dict, tabs: Sequence[Table], images: Sequence[str]) -> str:
    """The report as GitHub markdown."""
    out = ["# Eval report", ""] + [line + "\n" for line in _intro(summary)]
    for title, header, rows in tabs:
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows] + [""]
    out += [f"![{name}]({name})" for name in images]
    return "\n".join(out) + "\n"


def to_html(summary: dict, tabs: Sequence[Table], images: Sequence[str]) -> str:
    """The report as one HTML page; every piece of text is escaped."""
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Eval report</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px}"
             "td{text-align:right}td:first-child,td:nth-child(4){text-align:left}img{max-width:100%}"
             "</style></head><body><h1>Eval report</h1>"]
    parts += [f"<p>{e(line).replace('**', '')}</p>" for line in _intro(summary)]
    for title, header, rows in tabs:
        parts.append(f"<h2>{e(title)}</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts += [f"<p><img src='{e(name)}' alt='{e(name)}'></p>" for name in images]
    return "\n".join(parts) + "</body></html>\n"


def write_report(out_dir: Path, summary: dict, records: Sequence[dict]) -> Path:
    """Write every report file into `out_dir` (created) and return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(_round(summary), ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(_round(record), ensure_ascii=False) + "\n")
    images = plots(out_dir, summary, records)
    tabs = tables(summary, records)
    (out_dir / "report.md").write_text(markdown(summary, tabs, images), encoding="utf-8")
    (out_dir / "report.html").write_text(to_html(summary, tabs, images), encoding="utf-8")
    log.info("eval report written to %s", out_dir)
    return out_dir
