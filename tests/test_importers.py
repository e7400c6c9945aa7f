"""Importers on the real public data in ../shared/data: nothing dropped silently, the label
mapping as documented, and one command per dataset down to anonymised JSONL."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from prep.importers import csd, rumoureval
from prep.tables import UNKNOWN_AUTHOR, ValidationError, write_table
from prep.validate import Policy, load_tables, parse_timestamp

ROOT = Path(__file__).resolve().parent.parent
RUMOUREVAL = ROOT / rumoureval.SOURCE
CSD_XLSX = ROOT / csd.SOURCE
CSD_CSV = CSD_XLSX.with_suffix(".csv")
pytestmark = pytest.mark.skipif(not RUMOUREVAL.exists() or not CSD_XLSX.exists(), reason="../shared/data not present")


@pytest.fixture(scope="module")
def rumoureval_import():
    return rumoureval.convert(argparse.Namespace(source=RUMOUREVAL, mixed="yes"))


@pytest.fixture(scope="module")
def csd_rows() -> list[dict]:
    with open(CSD_CSV, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def csd_import():
    return csd.convert(argparse.Namespace(source=CSD_XLSX, mixed="yes", impute_times=True))


def test_rumoureval_keeps_every_post_and_the_official_splits(rumoureval_import):
    files = [p for p in RUMOUREVAL.rglob("*.json") if p.parent.name in ("source-tweet", "replies")]
    stubs = rumoureval_import.exclusions.counts()["reddit_more_stub"]
    assert len(rumoureval_import.messages) + stubs == len(files)
    threads = {}
    for split, name in rumoureval.KEYS.items():
        threads.update(dict.fromkeys(json.loads((RUMOUREVAL / name).read_text())["subtaskbenglish"], split))
    assert {m["conversation_id"] for m in rumoureval_import.messages} == set(threads)
    assert all(s["split"] == threads[s["conversation_id"]] for s in rumoureval_import.stances)


def test_rumoureval_contributors_and_labels(rumoureval_import):
    keys = {}
    for name in rumoureval.KEYS.values():
        keys.update(json.loads((RUMOUREVAL / name).read_text())["subtaskaenglish"])
    source_author, replies = {}, defaultdict(set)
    for message in rumoureval_import.messages:
        if message["message_id"] == message["conversation_id"]:
            source_author[message["conversation_id"]] = message["author"]
        else:
            replies[(message["conversation_id"], message["author"])].add(keys[message["message_id"]])
    for stance in rumoureval_import.stances:
        labels = replies[(stance["conversation_id"], stance["contributor"])]
        assert labels, stance  # a reply author
        assert stance["contributor"] not in (UNKNOWN_AUTHOR, source_author[stance["conversation_id"]])
        assert stance["label"] == ("yes" if "support" in labels else "no")  # --mixed yes
    pairs = {(c, a) for (c, a) in replies if a not in (UNKNOWN_AUTHOR, source_author[c])}
    assert len(pairs) == len(rumoureval_import.stances)


def test_rumoureval_reply_links_and_times(rumoureval_import):
    for message in rumoureval_import.messages:
        assert parse_timestamp(message["timestamp"]).utcoffset().total_seconds() == 0
    tweets = {p.stem: json.loads(p.read_text()) for p in (RUMOUREVAL / "rumoureval-2019-training-data" / "twitter-english"
                                                           / "ferguson").rglob("replies/*.json")}
    linked = [m for m in rumoureval_import.messages if m["message_id"] in tweets]
    assert linked and all(m["reply_to"] == tweets[m["message_id"]]["in_reply_to_status_id_str"] for m in linked)


def test_rumoureval_mixed_contributors_follow_the_flag(rumoureval_import):
    excluded = rumoureval.convert(argparse.Namespace(source=RUMOUREVAL, mixed="exclude"))
    mixed = sum(v for k, v in rumoureval_import.counts.items() if k.startswith("mixed_"))
    assert mixed > 0 and excluded.exclusions.counts()["mixed_stance"] == mixed
    assert len(excluded.stances) == len(rumoureval_import.stances) - mixed


def test_csd_keeps_every_row_and_repairs_times_visibly(csd_import, csd_rows):
    assert len(csd_import.messages) == len(csd_rows)
    assert all(csd.usable_time(m["timestamp"]) for m in csd_import.messages)
    unusable = [n for n, r in enumerate(csd_rows, start=1) if not csd.usable_time(r["time"])]
    assert sorted(item["row"] for item in csd_import.repairs.items) == unusable
    assert {item["reason"] for item in csd_import.repairs.items} == {"timestamp_missing", "timestamp_malformed"}
    without_user = sum(not r["user_id"] for r in csd_rows)
    assert csd_import.exclusions.counts() == {"post_without_user": without_user}
    assert sum(m["author"] == UNKNOWN_AUTHOR for m in csd_import.messages) == without_user


def test_csd_contributor_labels(csd_import, csd_rows):
    stances = defaultdict(set)
    for row in csd_rows:
        if row["user_id"]:
            stances[(row["info_id"], row["user_id"])].add(row["label"])
    assert {(s["conversation_id"], s["contributor"]): s["label"] for s in csd_import.stances} == {
        key: "yes" if "1" in labels else "no" for key, labels in stances.items()}
    assert {s["statement"] for s in csd_import.stances} == {csd.STATEMENT}


def test_csd_spreadsheet_and_csv_import_alike(csd_import):
    from_csv = csd.convert(argparse.Namespace(source=CSD_CSV, mixed="yes", impute_times=True))
    assert from_csv.messages == csd_import.messages and from_csv.stances == csd_import.stances


def test_csd_without_imputation_leaves_bad_times_to_the_policy(tmp_path):
    raw = csd.convert(argparse.Namespace(source=CSD_CSV, mixed="yes", impute_times=False))
    write_table(tmp_path / "messages.jsonl", raw.messages)
    write_table(tmp_path / "stances.jsonl", raw.stances)
    with pytest.raises(ValidationError) as caught:
        load_tables(tmp_path / "messages.jsonl", tmp_path / "stances.jsonl")
    bad = sum(not csd.usable_time(m["timestamp"]) for m in raw.messages)
    assert len(caught.value.problems) == bad and {p.field for p in caught.value.problems} == {"timestamp"}
    tables = load_tables(tmp_path / "messages.jsonl", tmp_path / "stances.jsonl", Policy(bad_timestamp="exclude"))
    assert tables.exclusions.counts()["bad_timestamp"] == bad


def names_in(prepared: Path, names: set[str]) -> list[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in prepared.rglob("*.jsonl"))
    return sorted(n for n in names if len(n) >= 4 and re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text, re.I))


RUMOUREVAL_SUBSET = ["rumoureval-2019-training-data/twitter-english/ferguson/498280126254428160",
                     "rumoureval-2019-training-data/reddit-training-data/1i8cy7",
                     "rumoureval-2019-training-data/twitter-english/ferguson/498293668655423488",
                     "rumoureval-2019-training-data/reddit-dev-data/1jvbd8",
                     "rumoureval-2019-test-data/twitter-en-test-data/afghanistan/852844529778601985",
                     "rumoureval-2019-test-data/reddit-test-data/3xqilx"]


def test_rumoureval_one_command(tmp_path, model_dir):
    source = tmp_path / "rumoureval"
    for path in RUMOUREVAL_SUBSET + list(rumoureval.KEYS.values()):
        (shutil.copytree if (RUMOUREVAL / path).is_dir() else shutil.copy)(RUMOUREVAL / path, source / path)
    out = tmp_path / "prepared" / "rumoureval"
    report = rumoureval.main(["--source", str(source), "--out", str(out), "--tokenizer", str(model_dir),
                              "--sequence-len", "4096", "--over-budget", "exclude"])
    private = out.with_name("rumoureval.private")
    assert sorted(p.name for p in out.iterdir()) == ["dev.jsonl", "prep_report.json", "prep_report.md", "tables", "test.jsonl",
                                                      "train.jsonl"]
    assert {p.name for p in private.iterdir()} == {"messages.jsonl", "stances.jsonl", "import_report.json", "pseudonyms.json"}
    assert report["split_assignment"]["by"] == "given" and all(report["splits"][s]["samples"] for s in ("train", "dev", "test"))
    assert {"deleted_author", "source_author"} <= set(report["exclusions"]["counts"])
    authors = {json.loads(line)["author"] for line in (private / "messages.jsonl").read_text().splitlines()}
    assert names_in(out, authors - {UNKNOWN_AUTHOR}) == []


def written(out) -> dict:
    """Every file of a prepared folder; the report without its timing, the one part that differs between runs."""
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    report = json.loads(files.pop(out / "prep_report.json"))
    summary = files.pop(out / "prep_report.md").decode().splitlines()
    return {**files, "report": {k: v for k, v in report.items() if k != "timing"},
            "summary": [line for line in summary if not line.startswith("Seconds (")]}


def test_csd_one_command(tmp_path, model_dir, csd_rows):
    threads = sorted({r["info_id"] for r in csd_rows})[:30]
    source = tmp_path / "csd.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(csd_rows[0]))
        writer.writeheader()
        writer.writerows(r for r in csd_rows if r["info_id"] in threads)
    out = tmp_path / "prepared" / "csd"
    argv = ["--source", str(source), "--out", str(out), "--tokenizer", str(model_dir), "--sequence-len", "8192",
            "--over-budget", "exclude"]
    report = csd.main(argv)
    first = written(out)
    assert report["split_assignment"]["by"] == "stratified"
    assert sum(s["conversations"] for s in report["splits"].values()) == 30
    assert report["import"]["repairs"] and report["exclusions"]["counts"]["post_without_user"]
    assert report["languages"]["splits"]["train"]["share_zh"] > 0.9
    csd.main(argv)  # a re-run writes byte-identical files, but for the seconds each stage took
    assert written(out) == first
    assert all(item["row"] and " -> " in item["detail"] for item in report["import"]["repair_items"])
