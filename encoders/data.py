"""Prepared JSONL rows -> questions an encoder reads: (context, question) as prep rendered them.

A row's first user turn is split by `prep.prompt.context_and_question`; dev and test rows ask
one question each (`core.runs.question_meta` rejects others). A multi-layout train row (several
questions against one context) is expanded into one question per pair, and counted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path

from core.cli import UserError
from core.jsonl import read_jsonl
from core.labels import LABELS
from core.runs import question_meta
from encoders.windows import Window, capped
from prep.prompt import context_and_question

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Question:
    context: str
    question: str
    label: int | None  # 1 for yes; None for a pair nobody has labelled yet (to_label.jsonl)
    meta: dict  # prep's meta of the pair, for the prediction row
    windows: tuple[Window, ...] = ()  # the contributor's own messages, when the encoder reads those


def answer_label(content: str, where: str) -> int:
    if content not in LABELS:
        raise UserError(f"{where}: the answer turn is {content!r}, not one of {LABELS}")
    return int(content == "yes")


def row_questions(row: dict, where: str) -> list[Question]:
    """One question per asked pair; a multi-layout row's pairs come in turn order (`meta.pairs`)."""
    messages, meta = row["messages"], row["meta"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    answers = [answer_label(m["content"], where) for m in messages if m["role"] == "assistant"]
    pairs = meta.get("pairs", [meta])
    if not answers and len(users) == 1 and meta.get("label") is None:  # unlabelled: scored, never trained on
        answers = [None]
    if not users or len(users) != len(answers) or len(pairs) != len(users):
        raise UserError(f"{where}: {len(users)} questions, {len(answers)} answers and {len(pairs)} pairs in meta")
    try:
        context, first = context_and_question(users[0])
    except ValueError as error:
        raise UserError(f"{where}: {error}") from None
    shared = {k: v for k, v in meta.items() if k != "pairs"}
    return [Question(context, question, label, {**shared, **pair})
            for question, label, pair in zip([first, *users[1:]], answers, pairs)]


def read_split(folder: Path, split: str) -> tuple[list[Question], dict]:
    """The questions of one split and how they were read (rows, questions, multi-layout rows expanded)."""
    return read_questions(Path(folder) / f"{split}.jsonl", one_per_row=split != "train")


def read_questions(path: Path, one_per_row: bool) -> tuple[list[Question], dict]:
    """A prepared file's questions; `one_per_row` (scored files): a row asking several is an error."""
    rows = read_jsonl(path)
    if not rows:
        raise UserError(f"{path}: no rows")
    questions, expanded = [], 0
    for number, row in enumerate(rows, start=1):
        where = f"{path}: row {number}"
        if one_per_row:
            question_meta(row)  # dev and test are scored per pair: several questions in a row are an error
        asked = row_questions(row, where)
        expanded += len(asked) > 1
        questions += asked
    return questions, {"rows": len(rows), "questions": len(questions), "multi_rows_expanded": expanded}


def sample(questions: list[Question], limit: int | None, seed: int) -> list[Question]:
    """A seeded sample of `limit` questions (all of them when limit is None or not smaller), in file order."""
    if limit is None or limit >= len(questions):
        return questions
    keep = sorted(random.Random(seed).sample(range(len(questions)), limit))
    return [questions[i] for i in keep]


def with_windows(questions: list[Question], windows: dict[tuple[str, str], list[Window]], limit: int | None,
                 where: str) -> list[Question]:
    """Each question with its contributor's message windows (at most `limit`, the longest)."""
    missing = [q.meta for q in questions if (q.meta["conversation_id"], q.meta["contributor"]) not in windows]
    if missing:
        raise UserError(f"{where}: {len(missing)} pairs have no messages in the tables, e.g. "
                        f"{missing[0]['conversation_id']}/{missing[0]['contributor']}")
    return [replace(q, windows=tuple(capped(windows[(q.meta["conversation_id"], q.meta["contributor"])], limit)))
            for q in questions]
