"""The debate's structure: a second stage over an encoder's P(yes), fitted on dev.

A contributor's own words are one signal; the debate around them gives two more, whatever the
topic (the config key `debate: true` turns the stage on):

- replies disagree: of IAC's dev-topic replies between two contributors whose side the panel
  knows, 75.5% cross sides. Feature: the P(yes), on the same statement, of the people the
  contributor replies to or is replied by, weighted by the replies between them.
- a debate has its own level: a new topic moves every P(yes) (thresholds tuned on seen topics
  then answer "no" to nearly everything). Feature: the contributor's P(yes) against the mean of
  the same statement's contributors in this conversation.

All three features (own, own against the debate's level, repliers') are logits, the last two
centred on the conversation, so 0 means "no information". Logistic regression reads them,
fitted on dev pairs; dev's own P(yes) comes out of fold (5 folds by conversation) so the
threshold is tuned on answers the stage was not fitted to. The replies come from the prepared
folder's tables, so a pair's neighbours must be scored in the same call (a split holds whole
conversations). A contributor's P(yes) on the opposite statement of a topic was tried as a
fourth feature: it added nothing on IAC (MCC within 0.005), so it is not here; nor did stacking a
second reader's P(yes) (TF-IDF with the 4-window MiniLM reader: MCC 0.350 against 0.340), the
statement's train yes-rate, or the contributor's message count and the debate's length (all
within 0.01 on IAC's test pairs). Nor did signing each reply by what it says: a classifier of
agreement (TF-IDF of a reply's first 400 characters, trained on train replies between
contributors whose sides the panel knows, 25% of them agreeing) ranks dev replies at ROC AUC
0.626, and the repliers' P(yes) weighted by it moved TF-IDF's test MCC from 0.333 to 0.339. Nor
did solving for camps (each contributor's side score, P(yes) on one statement against the other,
smoothed over the reply graph with repliers pulled to opposite sides, for several strengths):
test MCC 0.338 to 0.352 against 0.345 without it, dev ROC AUC no higher. Nor did the
contributor's record (bench.quality's contributor-history: their train yes-rate on the statement
in other conversations) stacked with TF-IDF + debate: test F1 0.755, MCC 0.565, ROC AUC 0.863
against the record alone's 0.756, 0.567, 0.852; on the pairs the record cannot answer it scores
what the reader does (MCC 0.343 against 0.304). Where the panel has labelled a person before,
their record is the answer; reading adds nothing to it here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
from scipy import special
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from core.cli import UserError
from core.jsonl import read_jsonl
from encoders.data import Question
from encoders.fitted import Fitted

FEATURES = ("own", "own_vs_debate", "repliers")
FOLDS = 5
FILE = "debate.joblib"


def reply_counts(tables: Path) -> dict[tuple[str, str], Counter]:
    """(conversation, contributor) -> replies exchanged with each other contributor, both ways."""
    messages = read_jsonl(Path(tables) / "messages.jsonl")
    author = {(m["conversation_id"], m["message_id"]): m["author"] for m in messages}
    counts = defaultdict(Counter)
    for m in messages:
        parent = author.get((m["conversation_id"], m.get("reply_to")))
        if parent and parent != m["author"]:
            counts[(m["conversation_id"], m["author"])][parent] += 1
            counts[(m["conversation_id"], parent)][m["author"]] += 1
    return counts


def features(questions: list[Question], p_yes: np.ndarray, replies: dict) -> np.ndarray:
    """One row of FEATURES per question, from the P(yes) of every question in the same call."""
    logits = special.logit(np.clip(p_yes, 1e-4, 1 - 1e-4))
    keys = [(q.meta["conversation_id"], q.meta["statement_id"], q.meta["contributor"]) for q in questions]
    if len(set(keys)) < len(keys):
        raise UserError("the debate stage reads one question per (statement, contributor); these rows ask some "
                        "several times (snippets?): prepare one context per pair (focus, full, truncate)")
    level = defaultdict(list)
    for (conversation, statement, _), logit in zip(keys, logits):
        level[(conversation, statement)].append(logit)
    centred = {key: logit - np.mean(level[key[:2]]) for key, logit in zip(keys, logits)}
    rows = []
    for (conversation, statement, contributor), logit in zip(keys, logits):
        partners = [(count, centred[(conversation, statement, other)])
                    for other, count in replies.get((conversation, contributor), {}).items()
                    if (conversation, statement, other) in centred]
        weight = sum(count for count, _ in partners)
        repliers = sum(count * value for count, value in partners) / weight if weight else 0.0
        rows.append([logit, centred[(conversation, statement, contributor)], repliers])
    return np.array(rows, dtype=float)


def stage(base: Fitted, dev: list[Question], replies: dict, seed: int) -> Fitted:
    """`base` followed by the debate stage fitted on dev (its dev P(yes) out of fold)."""
    x, y = features(dev, np.asarray(base.dev_p_yes), replies), np.array([q.label for q in dev])
    groups = [q.meta["conversation_id"] for q in dev]
    if len(set(groups)) < 2:
        raise UserError(f"the debate stage is fitted on dev out of fold by conversation: dev has {len(set(groups))} "
                        "conversation, it needs 2 or more (give dev a larger share with prep's --split)")
    dev_p_yes = np.zeros(len(dev))
    for fit_on, held_out in GroupKFold(min(FOLDS, len(set(groups)))).split(x, y, groups):
        fold = LogisticRegression(random_state=seed).fit(x[fit_on], y[fit_on])
        dev_p_yes[held_out] = fold.predict_proba(x[held_out])[:, 1]
    head = LogisticRegression(random_state=seed).fit(x, y)
    chosen = {**base.chosen, "debate": {**dict(zip(FEATURES, np.round(head.coef_[0], 4).tolist())),
                                        "intercept": round(float(head.intercept_[0]), 4)}}
    return wrap(base, head, replies, chosen, dev_p_yes)


def wrap(base: Fitted, head: LogisticRegression, replies: dict, chosen: dict, dev_p_yes=None) -> Fitted:
    """`base`'s scorer with the fitted stage after it (the base's message scores stay)."""
    def p_yes(questions: list[Question]) -> np.ndarray:
        return head.predict_proba(features(questions, base.p_yes(questions), replies))[:, 1]
    return replace(base, p_yes=p_yes, dev_p_yes=dev_p_yes, chosen=chosen, model=head)


def save(fitted: Fitted, folder: Path) -> None:
    joblib.dump(fitted.model, Path(folder) / FILE)


def load(base: Fitted, folder: Path, replies: dict, chosen: dict) -> Fitted:
    return wrap(base, joblib.load(Path(folder) / FILE), replies, chosen)
