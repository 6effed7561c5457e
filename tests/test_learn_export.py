"""Card export: the Anki package (stable GUIDs, escaped fields), the CSV, and the errors a learner can act on."""

from __future__ import annotations

import csv
import dataclasses
import html
import shutil
import sqlite3
import zipfile

import genanki
import pytest

from core.errors import ConfigError, LearnerError
from tutor.learn.cards import make_card
from tutor.learn.export import CSV_COLUMNS, export, to_apkg, to_csv

LORA = "https://example.org/lora"


def sample_cards():
    lora = make_card("How does LoRA cut trainable parameters?",
                     "LoRA freezes the pretrained weights and trains two small low-rank matrices A and B.", None,
                     url=LORA, title="LoRA explained", answer="It trains only two small matrices.", origin="answer")
    zh = make_card("自注意力机制如何工作？", "Self-attention lets every token look at every other token.", None,
                   url="https://example.org/attention", title="注意力", origin="quiz")
    tricky = make_card("What does <b>&amp; do?", "Tags like <b> & entities must stay <i>text</i>.", None,
                       url="https://example.org/html?a=1&b=2", title="HTML <b>&", origin="answer")
    return [dataclasses.replace(lora, part="Part IV: Fine-tuning", section="LoRA"), zh, tricky]


def read_notes(apkg, tmp_path) -> dict[str, list[str]]:
    """guid -> fields of every note in an .apkg (a zip holding Anki's SQLite collection)."""
    with zipfile.ZipFile(apkg) as package:
        assert "collection.anki2" in package.namelist()
        db = tmp_path / f"{apkg.stem}.anki2"
        with package.open("collection.anki2") as src, db.open("wb") as out:
            shutil.copyfileobj(src, out)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT guid, flds FROM notes").fetchall()
    return {guid: flds.split("\x1f") for guid, flds in rows}


def test_apkg_has_one_note_per_card_keyed_by_card_id_with_escaped_fields(tmp_path):
    cards = sample_cards()
    notes = read_notes(to_apkg(cards, tmp_path / "deck.apkg"), tmp_path)
    assert len(notes) == len(cards)
    for card in cards:
        fields = notes[genanki.guid_for(card.id)]
        assert fields[0] == html.escape(card.question) and fields[2] == html.escape(card.quote)
        assert html.escape(card.link) in fields[3] and card.id in fields
    tricky = notes[genanki.guid_for(cards[2].id)]
    assert "<b>" not in "".join(tricky) and "&lt;b&gt;" in tricky[0] and "&amp;" in tricky[2]
    assert "Part IV: Fine-tuning" in notes[genanki.guid_for(cards[0].id)][4]


def test_reexport_keeps_guids_even_when_the_answer_changes(tmp_path):
    cards = sample_cards()
    first = read_notes(to_apkg(cards, tmp_path / "a.apkg"), tmp_path)
    assert read_notes(to_apkg(cards, tmp_path / "b.apkg"), tmp_path).keys() == first.keys()
    changed = [dataclasses.replace(cards[0], answer="A better answer."), *cards[1:]]
    again = read_notes(to_apkg(changed, tmp_path / "c.apkg"), tmp_path)
    assert again.keys() == first.keys()
    assert again[genanki.guid_for(cards[0].id)][1] == "A better answer."


def test_csv_reads_back_to_the_cards(tmp_path):
    cards = sample_cards()
    with to_csv(cards, tmp_path / "deck.csv").open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    assert rows == [{column: getattr(card, column) for column in CSV_COLUMNS} for card in cards]


@pytest.mark.parametrize("name", ["deck.apkg", "deck.csv"])
def test_empty_deck_raises_and_leaves_the_existing_file_alone(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"an earlier export")
    with pytest.raises(LearnerError, match="no cards to export yet"):
        export([], path)
    assert path.read_bytes() == b"an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temp file left behind


def test_format_follows_the_suffix_or_fmt_and_unknown_ones_raise(tmp_path):
    cards = sample_cards()
    assert zipfile.is_zipfile(export(cards, tmp_path / "deck.APKG"))
    assert export(cards, tmp_path / "deck.txt", fmt="csv").read_text(encoding="utf-8-sig").startswith("id,question")
    with pytest.raises(ConfigError, match="apkg.*csv"):
        export(cards, tmp_path / "deck.txt")
    with pytest.raises(ConfigError, match="apkg.*csv"):
        export(cards, tmp_path / "deck.csv", fmt="xlsx")
    assert not (tmp_path / "deck.csv").exists()
