"""The multi-question layout: one conversation, every question its own turn; and the shared prefix of pair rows."""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict

import pytest

from prep import build, prompt
from prep.strategies import STRATEGIES, Options, prepare_conversation
from prep.synth import generate_long, write_jsonl
from prep.tokens import TokenCounter
from prep.validate import load_tables

HAS_CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def counter(model_dir) -> TokenCounter:
    return TokenCounter(model_dir)


def read_split(out, name: str) -> list[dict]:
    return [json.loads(line) for line in (out / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]


def run_build(messages, stances, model_dir, out, *flags: str) -> dict:
    return build.main(["--messages", str(messages), "--stances", str(stances), "--tokenizer", str(model_dir),
                       "--out", str(out), *flags])


@pytest.fixture(scope="module")
def demo_multi(model_dir, demo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-multi")
    report = run_build(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl", model_dir, out,
                       "--strategy", "truncate", "--layout", "multi", "--questions-per-sample", "5",
                       "--sequence-len", "2048", "--split", "0.625,0.125,0.25")
    return out, report


def check_exact(rows: list[dict], counter: TokenCounter, sequence_len: int) -> None:
    assert all(row["meta"]["n_tokens"] <= sequence_len for row in rows)
    checked = rows[::max(1, len(rows) // 10)] + [max(rows, key=lambda r: r["meta"]["n_tokens"])]
    assert any(HAS_CHINESE.search(row["messages"][0]["content"]) for row in checked)
    for row in checked:
        assert len(counter.chat_ids(row["messages"])) == row["meta"]["n_tokens"]


def test_multi_rows_ask_every_question_in_its_own_turn(demo_multi, demo_dir, counter):
    out, report = demo_multi
    rows = read_split(out, "train")
    stances = load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl").stances
    statements = {(s["conversation_id"], s["statement_id"]): s["statement"] for s in stances}
    asked = Counter()
    for row in rows:
        meta, messages = row["meta"], row["messages"]
        pairs = meta["pairs"]
        assert meta["layout"] == "multi" and 1 <= len(pairs) <= 5
        assert [m["role"] for m in messages] == ["user", "assistant"] * len(pairs)
        questions = [prompt.question_text(statements[(meta["conversation_id"], p["statement_id"])], p["contributor"])
                     for p in pairs]  # contributors are pseudonyms here (prep.build anonymises)
        assert messages[0]["content"].startswith(prompt.INSTRUCTIONS)
        assert messages[0]["content"].endswith(prompt.CONVERSATION_CLOSE + questions[0])
        assert [m["content"] for m in messages[2::2]] == questions[1:]
        assert [m["content"] for m in messages[1::2]] == [p["label"] for p in pairs]
        asked.update((meta["conversation_id"], p["statement_id"], p["contributor"]) for p in pairs)
    train_conversations = {row["meta"]["conversation_id"] for row in rows}
    assert set(asked.values()) == {1}  # every pair once
    assert len(asked) == sum(s["conversation_id"] in train_conversations for s in stances)
    assert report["splits"]["train"]["pairs"] == sum(asked.values()) > report["splits"]["train"]["samples"]
    check_exact(rows, counter, 2048)
    settings = report["settings"]
    assert (settings["layout"], settings["questions_per_sample"], settings["truncate_side"]) == ("multi", 5, "middle")


def test_dev_and_test_stay_one_row_per_pair_for_eval(demo_multi, counter):
    out, report = demo_multi
    for name in ("dev", "test"):
        rows = read_split(out, name)
        assert rows and all(len(r["messages"]) == 2 and r["meta"]["layout"] == "pair" for r in rows)
        assert all(r["messages"][1]["content"] == r["meta"]["label"] for r in rows)
        assert report["splits"][name]["pairs"] == report["splits"][name]["samples"] == len(rows)
        check_exact(rows, counter, 2048)


def test_pairs_of_a_context_share_its_token_prefix(demo_multi, counter):
    out, _ = demo_multi
    groups = defaultdict(list)
    for row in read_split(out, "test"):
        groups[row["meta"]["context_id"]].append(row)
    assert any(len(rows) > 1 for rows in groups.values())
    for rows in groups.values():
        if len(rows) < 2:
            continue
        prompts = [counter.chat_ids(row["messages"][:1], add_generation_prompt=True) for row in rows]
        shared = counter.tokenizer.decode(os.path.commonprefix(prompts))
        context = rows[0]["messages"][0]["content"].split("\nStatement: ")[0]
        assert context in shared  # the whole conversation is computed once, for all its pairs


@pytest.mark.parametrize("strategy", ["truncate", "focus", "snippets"])
def test_multi_layout_fits_every_question_on_long_threads(strategy, model_dir, counter, tmp_path):
    messages, stances, _ = generate_long(2, 1, 150_000, 30, ["start", "middle", "end"])
    write_jsonl(tmp_path / "messages.jsonl", messages)
    write_jsonl(tmp_path / "stances.jsonl", stances)
    report = run_build(tmp_path / "messages.jsonl", tmp_path / "stances.jsonl", model_dir, tmp_path / "out",
                       "--strategy", strategy, "--layout", "multi", "--sequence-len", "8192", "--split", "1,0,0")
    rows = read_split(tmp_path / "out", "train")
    assert len({(p["statement_id"], p["contributor"]) for row in rows for p in row["meta"]["pairs"]}) == len(stances)
    assert not report["exclusions"]["items"]
    assert max(len(row["meta"]["pairs"]) for row in rows) == (16 if strategy == "truncate" else 3)
    check_exact(rows, counter, 8192)


def test_multi_layout_saves_tokens_per_pair_on_the_same_contexts(demo_dir, counter):
    tables = load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl")
    options = Options(layout="multi", questions_per_sample=16)
    totals = {"pair": [0, 0], "multi": [0, 0]}
    for conversation_id in sorted({s["conversation_id"] for s in tables.stances}):
        conversation = prepare_conversation(
            conversation_id, [m for m in tables.messages if m["conversation_id"] == conversation_id],
            [s for s in tables.stances if s["conversation_id"] == conversation_id], counter)
        for context in STRATEGIES["focus"](conversation, counter, 2048, options):
            for layout in totals:
                for row in build.sample_rows(conversation, context, counter, "focus", layout, 16):
                    totals[layout][0] += row["meta"]["n_tokens"]
                    totals[layout][1] += len(row["meta"].get("pairs", [row]))
    assert totals["pair"][1] == totals["multi"][1] == len(tables.stances)
    assert totals["multi"][0] / totals["multi"][1] < 0.5 * totals["pair"][0] / totals["pair"][1]
