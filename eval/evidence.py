"""Evidence for every answer: each contributor's messages ranked by how much they carry it.

    python -m eval.evidence runs/R --tables D/tables [--data D/test.jsonl --model M [--adapter A]]

writes runs/R/evidence.jsonl beside runs/R/predictions.jsonl, one row per (statement, contributor)
pair. A message's `score` is its support for "yes", from whichever source the run has:

    snippets        runs with one prediction per message (`meta.message_id`): that prediction's P(yes)
    message-scores  runs whose pair rows carry `message_scores` [{message_id, score}] (encoders
                    reading windows over a contributor's messages): those scores
    leave-one-out   runs that read one context per pair (focus, full, truncate): P(yes) with the
                    context as asked minus P(yes) with that one message replaced by an omission
                    line. Needs the prepared rows (--data) and the model: an LLM (--model; every
                    variant reuses the KV cache of the full context up to the first token it
                    changes, so a message costs only the tokens after it: about (m / 2 + 1)
                    context passes for m messages), or the encoder of an `encoders.train` run
                    folder (RUN itself; the variants in one batch)

`messages` lists the contributor's messages the run read, strongest evidence for the answer
given first: descending score for a "yes", ascending for a "no" (the messages that most
lower P(yes)). `unread` lists their messages the run never saw (left out of the context), so
that no message is ranked that the model did not read.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import torch

from core.cli import UserError, run_cli
from core.jsonl import read_jsonl, write_jsonl
from core.runs import PAIR_KEYS, load_predictions, pair_key
from eval import loglik
from eval.aggregate import contributor_pairs
from prep import prompt

SCHEMA_VERSION = 1
SOURCES = ("snippets", "message-scores", "leave-one-out")
MESSAGE_LINE = re.compile(r"\[(\d+)\] ")
OMISSION_LINE = re.compile(r"\[… (\d+) messages? omitted …\]$")


def evidence_path(predictions: Path) -> Path:
    """runs/R/predictions.jsonl -> runs/R/evidence.jsonl; dev_predictions.jsonl -> dev_evidence.jsonl."""
    name = predictions.name
    return predictions.with_name(name.replace("predictions", "evidence") if "predictions" in name else f"evidence_{name}")


def run_threshold(run_dir: Path) -> float | None:
    """The threshold the run is scored at (metrics.json, tuned on dev), else None: as predicted."""
    metrics = run_dir / "metrics.json"
    return json.loads(metrics.read_text())["threshold"]["value"] if metrics.is_file() else None


def conversations(tables: Path) -> dict[str, list[dict]]:
    """conversation_id -> messages in prep's order (a context's line [n] is message n - 1)."""
    grouped = defaultdict(list)
    for message in read_jsonl(tables / "messages.jsonl"):
        grouped[message["conversation_id"]].append(message)
    return grouped


def source_of(rows: list[dict]) -> str:
    if all("message_scores" in r for r in rows):
        return "message-scores"
    if all(r.get("meta", {}).get("message_id") for r in rows):
        return "snippets"
    if len({pair_key(r) for r in rows}) == len(rows):
        return "leave-one-out"
    raise UserError("predictions mix one row per pair and one row per message: no single evidence source")


def ranked(scores: dict[str, float], answer: str) -> list[dict]:
    order = sorted(scores.items(), key=lambda item: (-item[1] if answer == "yes" else item[1], item[0]))
    return [{"message_id": message_id, "score": round(score, 6)} for message_id, score in order]


def evidence_row(pair: dict, source: str, scores: dict[str, float], own: list[str], **extra) -> dict:
    return {"schema_version": SCHEMA_VERSION, **{k: pair[k] for k in PAIR_KEYS}, "gold": pair["gold"],
            "answer": pair["prediction"], "p_yes": pair["p_yes"], "source": source,
            "messages": ranked(scores, pair["prediction"]), "unread": [m for m in own if m not in scores], **extra}


# --- leave-one-out on one long context ---------------------------------------------------------

def context_lines(user_turn: str) -> tuple[list[str], str]:
    """A prompt's conversation lines and its question."""
    context, question = prompt.context_and_question(user_turn)
    body = context[len(prompt.INSTRUCTIONS + prompt.CONVERSATION_OPEN):-len(prompt.CONVERSATION_CLOSE)]
    return body.split("\n"), question


def without(lines: list[str], removed: set[int]) -> list[str]:
    """Lines with the messages numbered in `removed` left out, each run of left-out messages one
    omission line (merged with the omission lines beside it), as prep renders them."""
    out, gap = [], 0
    for line in lines:
        number, omitted = MESSAGE_LINE.match(line), OMISSION_LINE.match(line)
        if omitted or (number and int(number.group(1)) in removed):
            gap += int(omitted.group(1)) if omitted else 1
            continue
        if gap:
            out.append(prompt.omission_line(gap))
            gap = 0
        out.append(line)
    return out + ([prompt.omission_line(gap)] if gap else [])


class Ablator:
    """P(yes) of one prepared row with sets of the conversation's messages left out; a subclass
    scores the variants (`variants`), this class renders and memoises them."""

    def __init__(self, row: dict, messages: list[dict]):
        self.row = row
        user = next(m for m in row["messages"] if m["role"] == "user")
        self.lines, self.question = context_lines(user["content"])
        contributor = row["meta"]["contributor"]
        self.numbers = {}  # message_id -> line number, for the contributor's messages in the context
        for line in self.lines:
            match = MESSAGE_LINE.match(line)
            if match:
                number = int(match.group(1))
                if number > len(messages):
                    raise UserError(f"{row['meta']['context_id']}: line [{number}] but the tables hold "
                                    f"{len(messages)} messages of this conversation (other tables than prep's?)")
                message = messages[number - 1]
                if message["author"] == contributor:
                    self.numbers[message["message_id"]] = number
        self.p_yes: dict[frozenset, float] = {}

    def context(self, removed: set[int]) -> str:
        return prompt.context_text(without(self.lines, removed))

    def variants(self, removals: list[frozenset]) -> list[float]:
        raise NotImplementedError

    def score(self, removals: list[set[str]]) -> list[float]:
        """P(yes) with each set of message ids left out (memoised)."""
        keys = [frozenset(self.numbers[m] for m in r) for r in removals]
        todo = sorted({k for k in keys if k not in self.p_yes}, key=len)
        self.p_yes.update(zip(todo, self.variants(todo)))
        return [self.p_yes[k] for k in keys]

    def leave_one_out(self) -> dict[str, float]:
        full, *left_out = self.score([set()] + [{m} for m in self.numbers])
        return {m: full - p for m, p in zip(self.numbers, left_out)}


class LoglikAblator(Ablator):
    """An LLM's P(yes) by label log-likelihood, every variant from the full context's KV cache."""

    def __init__(self, tokenizer, model, answer_ids, row: dict, messages: list[dict]):
        super().__init__(row, messages)
        self.tokenizer, self.model, self.answer_ids = tokenizer, model, answer_ids
        self.base = self.ids(set())

    def ids(self, removed: set[int]) -> list[int]:
        variant = {**self.row, "messages": [{"role": "user", "content": self.context(removed) + self.question}]}
        return loglik.prompt_ids(self.tokenizer, variant)

    def variants(self, removals: list[frozenset]) -> list[float]:
        sequences = [self.ids(set(k)) for k in removals]
        return [s["p_yes"] for s in score_variants(self.model, self.base, sequences, self.answer_ids)]


class EncoderAblator(Ablator):
    """An encoder run's P(yes) (`encoders.predict.load_run`) of each variant, scored in one batch."""

    def __init__(self, fitted, row: dict, messages: list[dict]):
        super().__init__(row, messages)
        self.fitted = fitted

    def variants(self, removals: list[frozenset]) -> list[float]:
        from encoders.data import Question

        questions = [Question(self.context(set(k)), self.question, None, self.row["meta"]) for k in removals]
        return [float(p) for p in self.fitted.p_yes(questions)] if questions else []


@torch.inference_mode()
def score_variants(model, base: list[int], variants: list[list[int]], answer_ids) -> list[dict]:
    """Scores of token sequences that differ from `base` after some point: base's KV cache is
    computed once, and each variant runs only from its first differing token, latest first, so
    the cache is only ever cropped, never recomputed."""
    if not variants:
        return []
    starts = [min(loglik.common_prefix_length([base, v]), len(v) - 1) for v in variants]
    cache = model(torch.tensor([base[:max(starts)]], device=model.device), use_cache=True,
                  logits_to_keep=1).past_key_values
    scores = [None] * len(variants)
    for index in sorted(range(len(variants)), key=lambda i: -starts[i]):
        cache.crop(starts[index] - cache.get_seq_length())  # a negative count: tokens to drop
        suffix = torch.tensor([variants[index][starts[index]:]], device=model.device)
        logits = model(suffix, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[0]
        scores[index] = loglik.answer_scores(logits, answer_ids)[0]
    return scores


# --- one interface -----------------------------------------------------------------------------

def llm_ablator(tokenizer, model) -> Callable[[dict, list[dict]], Ablator]:
    answer_ids = loglik.answer_token_ids(tokenizer)
    return lambda row, messages: LoglikAblator(tokenizer, model, answer_ids, row, messages)


def build(predictions: list[dict], tables: Path, threshold: float | None = None, rows: list[dict] | None = None,
          ablator: Callable[[dict, list[dict]], Ablator] | None = None) -> list[dict]:
    """`ablator(row, conversation)`: the run's model on one row's variants, for leave-one-out."""
    source = source_of(predictions)
    messages = conversations(tables)
    own = defaultdict(list)
    for conversation_id, conversation in messages.items():
        for message in conversation:
            own[conversation_id, message["author"]].append(message["message_id"])
    by_pair = defaultdict(list)
    for prediction in predictions:
        by_pair[pair_key(prediction)].append(prediction)
    prepared = {}
    if source == "leave-one-out":
        if rows is None or ablator is None:
            raise UserError("a run with one context per pair needs --data (its prepared rows) and its model "
                            "(--model, or an encoders.train run folder) for leave-one-message-out evidence")
        prepared = {(r["meta"]["conversation_id"], r["meta"]["statement_id"], r["meta"]["contributor"]): r for r in rows}
    evidence = []
    for pair in contributor_pairs(predictions, "any-yes", threshold):
        key = pair_key(pair)
        if source == "snippets":
            scores = {r["meta"]["message_id"]: r["p_yes"] for r in by_pair[key]}
        elif source == "message-scores":
            scores = {s["message_id"]: s["score"] for s in by_pair[key][0]["message_scores"]}
        else:
            if key not in prepared:
                raise UserError(f"pair {key}: not in --data; give the prepared file the run was predicted on")
            started = time.perf_counter()
            scores = ablator(prepared[key], messages[key[0]]).leave_one_out()
            evidence.append(evidence_row(pair, source, scores, own[key[0], key[2]],
                                         seconds=round(time.perf_counter() - started, 3)))
            continue
        evidence.append(evidence_row(pair, source, scores, own[key[0], key[2]]))
    return evidence


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run folder with predictions.jsonl")
    parser.add_argument("--tables", required=True, type=Path, help="prep's OUT/tables of the predicted data")
    parser.add_argument("--data", type=Path, help="the prepared JSONL the run was predicted on (leave-one-out)")
    parser.add_argument("--model", help="the run's LLM (leave-one-out); an encoders.train run is its own model")
    parser.add_argument("--adapter", help="the run's LoRA adapter (leave-one-out)")
    parser.add_argument("--out", type=Path, help="default: RUN/evidence.jsonl")
    args = parser.parse_args(argv)
    predictions = load_predictions(args.run / "predictions.jsonl")
    ablator = None
    if source_of(predictions) == "leave-one-out" and (args.run / "run.json").exists() and \
            "kind" in json.loads((args.run / "run.json").read_text(encoding="utf-8")):  # an encoders.train run
        from encoders.predict import load_run

        _, _, fitted = load_run(args.run, args.tables)
        ablator = lambda row, messages: EncoderAblator(fitted, row, messages)  # noqa: E731
    elif source_of(predictions) == "leave-one-out" and args.model:
        from eval.predict import load_model

        ablator = llm_ablator(*load_model(args.model, args.adapter))
    started = time.perf_counter()
    evidence = build(predictions, args.tables, run_threshold(args.run),
                     read_jsonl(args.data) if args.data else None, ablator)
    out = args.out or evidence_path(args.run / "predictions.jsonl")
    write_jsonl(out, evidence)
    print(f"{len(evidence)} pairs' evidence ({evidence[0]['source'] if evidence else '-'}) "
          f"in {time.perf_counter() - started:.1f} s -> {out}")
    return evidence


if __name__ == "__main__":
    run_cli(main)
