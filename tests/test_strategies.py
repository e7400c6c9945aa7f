"""Context strategies: exact budgets, honest omission lines, planted key messages, snippet aggregation, summaries."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from prep import build
from prep.strategies import STRATEGIES, Options, prepare_conversation
from prep.summarise import OpenAIBackend, Summariser
from prep.synth import generate_long
from prep.tokens import TokenCounter
from prep.validate import load_tables

ROOT = Path(__file__).resolve().parent.parent
DEMO_LEN, LONG_LEN = 1024, 8192
CONFIGS = {  # name -> (strategy, options)
    "full": ("full", {}),
    "truncate-head": ("truncate", {"truncate_side": "head"}),
    "truncate-tail": ("truncate", {"truncate_side": "tail"}),
    "truncate-middle": ("truncate", {"truncate_side": "middle"}),
    "snippets": ("snippets", {"snippet_context_tokens": 300}),
    "focus": ("focus", {}),
}
MESSAGE_LINE = re.compile(r"\[(\d+)\] ")
OMISSION_LINE = re.compile(r"\[… (\d+) messages? omitted …\]$")
SUMMARY_LINE = re.compile(r"\[summary of messages \[(\d+)\] to \[(\d+)\]\] ")
HAS_CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def counter(model_dir) -> TokenCounter:
    return TokenCounter(model_dir)


def prepare_all(messages: list[dict], stances: list[dict], counter: TokenCounter) -> list:
    by_conversation = defaultdict(list)
    for stance in stances:
        by_conversation[stance["conversation_id"]].append(stance)
    return [prepare_conversation(cid, [m for m in messages if m["conversation_id"] == cid], by_conversation[cid],
                                 counter) for cid in sorted(by_conversation)]


@pytest.fixture(scope="module")
def demo(counter, demo_dir) -> list:
    tables = load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl")
    return prepare_all(tables.messages, tables.stances, counter)


@pytest.fixture(scope="module")
def long(counter) -> tuple:
    """One generated 150,000-character thread, 40 authors, key messages planted at start, middle and end."""
    messages, stances, planted = generate_long(5, 1, 150_000, 40, ["start", "middle", "end"])
    conversation = prepare_all(messages, stances, counter)[0]
    index = {m["message_id"]: i for i, m in enumerate(conversation.messages)}
    return conversation, {p["position"]: (p["contributor"], index[p["message_id"]]) for p in planted}


def check_lines(conversation, context, counter) -> None:
    """Lines are in order and show exactly the kept messages; every left-out run is one omission
    line with its exact count."""
    numbers, position, previous_omission = [], 1, False
    for line in context.lines:
        if (match := OMISSION_LINE.match(line)):
            assert not previous_omission, "two omission lines in a row"
            position += int(match.group(1))
        else:
            numbers.append(int(MESSAGE_LINE.match(line).group(1)))
            assert numbers[-1] == position
            position += 1
        previous_omission = bool(match)
    assert numbers == [i + 1 for i in context.kept] and position == len(conversation.messages) + 1
    assert context.n_tokens == counter.context_tokens(counter.count(context.lines))


def check_rows(rows: list[dict], counter, sequence_len: int) -> None:
    """Every row fits; a spread of them (Chinese included) matches the chat template token for token."""
    assert rows and all(row["meta"]["n_tokens"] <= sequence_len for row in rows)
    checked = rows[::max(1, len(rows) // 12)] + [max(rows, key=lambda r: r["meta"]["n_tokens"])]
    assert any(HAS_CHINESE.search(row["messages"][0]["content"]) for row in checked)
    for row in checked:
        assert len(counter.chat_ids(row["messages"])) == row["meta"]["n_tokens"]


@pytest.mark.parametrize("layout", ["pair", "multi"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_contexts_fit_the_budget_token_exactly(config, layout, counter, demo, long):
    strategy, settings = CONFIGS[config]
    options = Options(layout=layout, questions_per_sample=4, **settings)
    demo_len = 4096 if strategy == "full" else DEMO_LEN  # where the short demo threads fit whole
    for conversations, sequence_len in ((demo, demo_len), ([long[0]], LONG_LEN)):
        rows = []
        for conversation in conversations:
            contexts = STRATEGIES[strategy](conversation, counter, sequence_len, options)
            asked = Counter(i for c in contexts for i in c.stance_indices)  # snippets: once per message
            assert asked == {i: len(conversation.by_author[s["contributor"]]) if strategy == "snippets" else 1
                             for i, s in enumerate(conversation.stances)}
            for context in contexts:
                check_lines(conversation, context, counter)
                if strategy != "full":
                    assert context.n_tokens <= context.budget
                if context.n_tokens <= context.budget:
                    rows += build.sample_rows(conversation, context, counter, strategy, layout, 4)
        if strategy == "full" and sequence_len == LONG_LEN:
            assert not rows  # 150,000 characters never fit: the caller excludes or stops, never silently
            continue
        check_rows(rows, counter, sequence_len)


def test_truncation_keeps_the_chosen_side(counter, long):
    conversation, planted = long
    n, chars = len(conversation.messages), [len(m["text"]) for m in conversation.messages]
    for side, sequence_len in (("tail", 16384), ("head", 16384), ("middle", 32768)):
        context = STRATEGIES["truncate"](conversation, counter, sequence_len, Options(truncate_side=side))[0]
        kept = context.kept
        start = [i for j, i in enumerate(kept) if i == j]  # the run kept from the first message on
        end = [i for j, i in enumerate(kept) if n - i == len(kept) - j]  # the run kept up to the last
        assert set(start) | set(end) == set(kept) and len(kept) < n
        assert bool(start) == (side != "head") and bool(end) == (side != "tail")
        assert sum(1 for line in context.lines if OMISSION_LINE.match(line)) == 1
        # the generator puts start keys in the first 10% of characters and end keys in the last 10%
        if start:
            assert sum(chars[i] for i in start) > 0.10 * sum(chars)
            assert planted["start"][1] in kept
        if end:
            assert sum(chars[i] for i in end) > 0.10 * sum(chars)
            assert planted["end"][1] in kept
        assert planted["middle"][1] not in kept  # what truncation loses, and focus and snippets keep


def test_focus_keeps_contributor_messages_parents_and_preceding_context(counter, long):
    conversation, planted = long
    contexts = {c.meta["focus_contributor"]: c for c in STRATEGIES["focus"](conversation, counter, LONG_LEN, Options())}
    assert set(contexts) == set(conversation.stances_by_contributor)
    biggest_line, marker = max(conversation.line_tokens), counter.marker_bound(len(conversation.messages))
    roomy = 0
    for contributor, context in contexts.items():
        own = conversation.by_author[contributor]
        kept = set(context.kept)
        assert context.n_tokens <= context.budget
        filled = context.n_tokens > context.budget - biggest_line - 2 * marker - 2
        assert filled or 0 in kept  # stops early only when the preceding context ran out
        # their messages, the messages they reply to and the one before each: kept whenever they fit together
        wanted = set(own) | ({conversation.parents[i] for i in own} - {None}) | {i - 1 for i in own if i > 0}
        cost = counter.frame + sum(conversation.line_tokens[i] for i in wanted) + (marker + 2) * (len(wanted) + 1)
        if cost <= context.budget:
            roomy += 1
            assert wanted <= kept
    assert roomy >= 10
    for contributor, message in planted.values():
        assert message in contexts[contributor].kept


def test_focus_keeps_the_most_messages_when_not_all_fit(counter, long):
    conversation, _ = long
    prolific = max(conversation.stances_by_contributor, key=lambda a: len(conversation.by_author[a]))
    context = next(c for c in STRATEGIES["focus"](conversation, counter, 2048, Options())
                   if c.meta["focus_contributor"] == prolific)
    own = conversation.by_author[prolific]
    kept_own = set(context.kept) & set(own)
    assert 0 < len(kept_own) < len(own)
    longest_kept = max(conversation.line_tokens[i] for i in kept_own)
    shortest_dropped = min(conversation.line_tokens[i] for i in set(own) - kept_own)
    assert longest_kept <= shortest_dropped + counter.marker_bound(len(own))  # shortest first, up to an omission line


def test_snippet_rows_aggregate_back_to_the_contributor(counter, demo, long):
    options = Options(snippet_context_tokens=200)
    for conversation in demo + [long[0]]:
        contexts = STRATEGIES["snippets"](conversation, counter, DEMO_LEN, options)
        rows = [row for c in contexts for row in build.sample_rows(conversation, c, counter, "snippets", "pair")]
        by_message = {m["message_id"]: (i, m) for i, m in enumerate(conversation.messages)}
        for context in contexts:
            target, message = by_message[context.meta["message_id"]]
            assert context.kept[-1] == target and context.context_id.endswith(message["message_id"])
            before = [conversation.line_tokens[i] for i in context.kept[:-1]]
            assert sum(before) <= options.snippet_context_tokens
            parent = conversation.parents[target]
            if parent is not None and conversation.line_tokens[parent] <= options.snippet_context_tokens:
                assert parent in context.kept
        aggregated = defaultdict(list)
        for row in rows:
            meta = row["meta"]
            assert conversation.messages[by_message[meta["message_id"]][0]]["author"] == meta["contributor"]
            assert meta["aggregate"] == "any-yes" and meta["label_level"] == "contributor"
            aggregated[(meta["conversation_id"], meta["statement_id"], meta["contributor"])].append(meta["label"])
        gold = {(conversation.conversation_id, s["statement_id"], s["contributor"]): s["label"]
                for s in conversation.stances}
        assert {pair: "yes" if "yes" in labels else "no" for pair, labels in aggregated.items()} == gold
        assert all(len(labels) == len(conversation.by_author[pair[2]]) for pair, labels in aggregated.items())
    snippets = {c.meta["message_id"]: c for c in STRATEGIES["snippets"](long[0], counter, DEMO_LEN, options)}
    for contributor, message in long[1].values():
        assert long[0].lines[message] in snippets[long[0].messages[message]["message_id"]].lines


def test_full_over_budget_is_an_error_or_a_counted_exclusion(counter, demo_dir):
    tables = load_tables(demo_dir / "messages.jsonl", demo_dir / "stances.jsonl")
    with pytest.raises(build.OverBudgetError, match=r"demo-\d+/full: context has \d+ tokens, budget"):
        build.build(tables, counter, "full", DEMO_LEN, {"train": 1.0, "dev": 0.0, "test": 0.0}, 0, "error")
    rows, exclusions = build.build(tables, counter, "full", DEMO_LEN, {"train": 1.0, "dev": 0.0, "test": 0.0}, 0,
                                   "exclude")
    excluded = [item for item in exclusions.items if item["reason"] == "over_budget"]
    assert excluded and len(rows["train"]) + len(excluded) == len(tables.stances)


class WordsBackend:
    """A real backend without a model: the summary is the first `words` words of the messages given."""

    name = "words"

    def __init__(self, words: int, model: str = "first-words"):
        self.words, self.model, self.calls = words, model, 0

    def generate(self, request: str, max_tokens: int) -> str:
        self.calls += 1
        return " ".join(request.split("\n\n", 1)[1].split()[:self.words])


def summarised(conversation, counter, backend, tmp_path, **settings):
    options = Options(summariser=Summariser(backend, tmp_path / "cache", max_tokens=64), **settings)
    return STRATEGIES["summarise"](conversation, counter, DEMO_LEN, options)[0]


def check_summary(conversation, context, counter) -> list[tuple[int, int]]:
    """Summaries first, covering [1] .. the first verbatim message without gaps; then the latest messages."""
    ranges = [tuple(map(int, m.groups())) for line in context.lines if (m := SUMMARY_LINE.match(line))]
    first_verbatim = context.meta["messages_summarised"]
    assert context.kept == list(range(first_verbatim, len(conversation.messages)))
    assert context.lines[len(context.lines) - len(context.kept):] == [conversation.lines[i] for i in context.kept]
    if ranges:
        assert ranges[0][0] == 1 and ranges[-1][1] == first_verbatim
        assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))
    assert context.n_tokens <= context.budget
    assert context.n_tokens == counter.context_tokens(counter.count(context.lines))
    row = build.sample_rows(conversation, context, counter, "summarise")[0]
    assert len(counter.chat_ids(row["messages"])) == row["meta"]["n_tokens"] <= DEMO_LEN
    return ranges


def test_summarise_condenses_earlier_messages_and_caches(counter, demo, tmp_path):
    conversation = max(demo, key=lambda c: sum(c.line_tokens))
    backend = WordsBackend(12)
    context = summarised(conversation, counter, backend, tmp_path, summary_chunk_tokens=4096)
    ranges = check_summary(conversation, context, counter)
    assert ranges and backend.calls == len(ranges) == context.meta["summary_lines"]
    again = WordsBackend(12)
    assert summarised(conversation, counter, again, tmp_path, summary_chunk_tokens=4096).lines == context.lines
    assert again.calls == 0
    other_model = WordsBackend(12, model="other")
    summarised(conversation, counter, other_model, tmp_path, summary_chunk_tokens=4096)
    assert other_model.calls == backend.calls  # the cache key holds the model


def test_summarise_summarises_summaries_until_they_fit(counter, demo, tmp_path):
    conversation = max(demo, key=lambda c: sum(c.line_tokens))
    backend = WordsBackend(30)
    context = summarised(conversation, counter, backend, tmp_path, summary_chunk_tokens=150, summary_share=0.2)
    ranges = check_summary(conversation, context, counter)
    assert ranges and backend.calls > len(ranges)  # a second level condensed the first
    assert max(last - first for first, last in ranges) > 60


def test_summarise_falls_back_to_an_omission_line(counter, demo, tmp_path):
    conversation = max(demo, key=lambda c: sum(c.line_tokens))
    context = summarised(conversation, counter, WordsBackend(5000), tmp_path, summary_share=0.1)
    check_summary(conversation, context, counter)
    assert OMISSION_LINE.match(context.lines[0]) and context.meta["summary_lines"] == 0


def test_summarise_leaves_a_fitting_conversation_alone(counter, demo, tmp_path):
    conversation = min(demo, key=lambda c: sum(c.line_tokens))
    backend = WordsBackend(12)
    options = Options(summariser=Summariser(backend, tmp_path))
    context = STRATEGIES["summarise"](conversation, counter, 8192, options)[0]
    assert context.lines == conversation.lines and backend.calls == 0


def test_openai_summariser_reads_its_key_from_the_environment(monkeypatch):
    monkeypatch.delenv("STANCE_TEST_KEY", raising=False)
    with pytest.raises(ValueError, match=r"\$STANCE_TEST_KEY"):
        OpenAIBackend("gpt-4o-mini", "http://localhost:9/v1", "STANCE_TEST_KEY")
    monkeypatch.setenv("STANCE_TEST_KEY", "not-a-real-key")
    backend = OpenAIBackend("gpt-4o-mini", "http://localhost:9/v1", "STANCE_TEST_KEY")
    assert backend.client.base_url.host == "localhost" and backend.model == "gpt-4o-mini"


def test_build_cli_summarises_with_a_local_model_greedily_and_from_cache(model_dir, tiny_tables, tmp_path):
    def run(out: str) -> dict:
        return build.main([
            "--messages", str(tiny_tables[0]), "--stances", str(tiny_tables[1]), "--tokenizer", str(model_dir),
            "--strategy", "summarise", "--sequence-len", "200", "--split", "1,0,0",
            "--summariser-model", str(model_dir),
            "--summary-cache", str(tmp_path / "cache"), "--summary-max-tokens", "8", "--summary-share", "0.5",
            "--out", str(tmp_path / out)])

    report = run("first")
    settings = report["settings"]
    assert settings["strategy"] == "summarise" and settings["layout"] == "pair"
    assert settings["summariser"] == {"backend": "transformers", "model": str(model_dir), "max_tokens": 8,
                                      "cache": str(tmp_path / "cache")}
    rows = [json.loads(line) for line in (tmp_path / "first" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == report["splits"]["train"]["pairs"] == 5
    summarised = [r for r in rows if r["meta"].get("messages_summarised")]
    assert summarised and all(SUMMARY_LINE.search(r["messages"][0]["content"]) for r in summarised)
    assert all(r["meta"]["n_tokens"] <= 200 for r in rows)
    cached = sorted(tmp_path.glob("cache/*/*.json"))
    assert cached
    run("second")  # every summary from the cache, the model never loaded
    assert (tmp_path / "second" / "train.jsonl").read_text() == (tmp_path / "first" / "train.jsonl").read_text()
    assert sorted(tmp_path.glob("cache/*/*.json")) == cached


@pytest.mark.slow
def test_axolotl_preprocess_accepts_every_strategy_and_layout(counter, demo, long, model_dir, tmp_path):
    """One `axolotl preprocess` over rows of every strategy and layout, demo and generated long data:
    nothing dropped, Axolotl's token count is prep's, and labels sit on the answers and nowhere else."""
    import yaml
    from datasets import load_from_disk

    sequence_len = 2048
    configs = {**CONFIGS, "summarise": ("summarise", {"summariser": Summariser(WordsBackend(20), tmp_path / "cache")})}
    files, expected = [], []
    for name, (strategy, settings) in configs.items():
        for layout in ("pair", "multi"):
            options = Options(layout=layout, questions_per_sample=6, **settings)
            for data, conversations in (("demo", demo), ("long", [long[0]])):
                rows = [row for conversation in conversations
                        for context in STRATEGIES[strategy](conversation, counter, sequence_len, options)
                        if context.n_tokens <= context.budget
                        for row in build.sample_rows(conversation, context, counter, strategy, layout, 6)]
                rows = rows[::max(1, len(rows) // 12)]
                if not rows:
                    continue
                path = tmp_path / f"{name}-{layout}-{data}.jsonl"
                path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
                files.append(path)
                expected += [(row["meta"]["n_tokens"], tuple(m["content"] for m in row["messages"][1::2]))
                             for row in rows]
    assert len(files) >= 20 and any(len(answers) > 1 for _, answers in expected)

    config = yaml.safe_load((ROOT / "axolotl_configs" / "smollm2_cpu.yml").read_text())
    template = config["datasets"][0]
    config.update({"base_model": str(model_dir), "sequence_len": sequence_len, "output_dir": str(tmp_path / "adapter"),
                   "dataset_prepared_path": str(tmp_path / "axolotl"),
                   "datasets": [{**template, "path": str(path)} for path in files]})
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    axolotl = Path(sys.executable).parent / "axolotl"
    env = {**os.environ, "PATH": f"{axolotl.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([str(axolotl), "preprocess", str(tmp_path / "config.yml")], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    dataset = load_from_disk(str(next(p for p in (tmp_path / "axolotl").iterdir() if p.is_dir())))
    eos = counter.tokenizer.eos_token
    seen = []
    for ids, labels in zip(dataset["input_ids"], dataset["labels"]):
        spans, current = [], []
        for token, label in zip(ids, labels):
            if label != -100:
                assert label == token
                current.append(token)
            elif current:
                spans.append(current)
                current = []
        spans += [current] if current else []
        decoded = [counter.tokenizer.decode(span) for span in spans]
        assert all(text.endswith(eos) for text in decoded)
        seen.append((len(ids), tuple(text.removesuffix(eos) for text in decoded)))
    assert sorted(seen) == sorted(expected)  # nothing dropped, same lengths, one labelled span per answer
