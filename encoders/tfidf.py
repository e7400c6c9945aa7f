"""TF-IDF over everything a contributor wrote: the lexical reference for the message encoders.

Each contributor's own message texts (`encoders.windows`, the line headers and reply parents
left out) joined into one document; word 1-2-grams with sublinear tf (scikit-learn's
TfidfVectorizer, fitted on the train questions' documents). Logistic regression reads the
document in a shared block and again in its statement's own block: one weight vector per
statement, so that a word that says "yes" to one side of a topic can say "no" to the other; a
statement train never saw has only the shared block. C is chosen on dev (contributor-level F1).
Seconds of CPU for a whole debate corpus: the cheap end of the comparison. Each message scored
alone (the same head on a document of that message) is the run's evidence (`message_scores`).
A topic-signed block (one weight vector shared by a topic's two statements, with opposite signs)
was tried on IAC: dev ROC AUC 0.737 against 0.739, test MCC within 0.015; it is not here. Nor is
one block shared across topics, each statement signed by its side of a left-right axis given by
hand (abortion choice, gay marriage for, stricter gun control, god doubt, legal marijuana on one
side): on the new topics it lifts ROC AUC from 0.587 to 0.618 and MCC from 0.13 to 0.19 against
a shared block alone on the same documents, but it rests on a mapping a team's issues need not have.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from encoders.config import TfidfConfig
from encoders.data import Question
from encoders.decide import tuned
from encoders.fitted import Fitted
from encoders.windows import best_per_message

HEADER = re.compile(r"^\[\d+\] \d{4}-\d\d-\d\d \d\d:\d\d .*?(?: \(reply to \[\d+\]\))?: ")


def document(question: Question) -> str:
    """The contributor's own message texts: each window's last line without its header."""
    return "\n".join(HEADER.sub("", window.text.rsplit("\n", 1)[-1]) for window in question.windows)


class Features:
    """Documents -> [shared block | one block per train statement] sparse features."""

    def __init__(self, config: TfidfConfig, train: list[Question]):
        self.vectorizer = TfidfVectorizer(ngram_range=(1, config.ngram_max), min_df=config.min_df,
                                          max_features=config.max_features, sublinear_tf=True, dtype=np.float32)
        self.vectorizer.fit(list(dict.fromkeys(map(document, train))))
        self.statements = sorted({q.meta["statement_id"] for q in train})

    def __call__(self, questions: list[Question]) -> sparse.csr_matrix:
        docs = list(dict.fromkeys(map(document, questions)))
        rows = dict(zip(docs, self.vectorizer.transform(docs)))
        x = sparse.vstack([rows[document(q)] for q in questions]).tocsr()
        blocks = [x]
        for statement in self.statements:
            mask = np.array([q.meta["statement_id"] == statement for q in questions], dtype=np.float32)
            blocks.append(sparse.diags(mask) @ x)
        return sparse.hstack(blocks).tocsr()


def message_scores(features: Features, head: LogisticRegression, questions: list[Question]) -> list[list[dict]]:
    """Per question: each of the contributor's messages scored as if it were all they wrote."""
    alone = [replace(q, windows=(window,)) for q in questions for window in q.windows]
    p_yes = iter(head.predict_proba(features(alone))[:, 1]) if alone else iter(())
    return [best_per_message(q.windows, [next(p_yes) for _ in q.windows]) for q in questions]


def scorer(features: Features, head: LogisticRegression, chosen: dict, dev_p_yes=None, history=()) -> Fitted:
    return Fitted(p_yes=lambda questions: head.predict_proba(features(questions))[:, 1], dev_p_yes=dev_p_yes,
                  chosen=chosen, history=list(history), model={"features": features, "head": head},
                  message_scores=lambda questions: message_scores(features, head, questions))


def fit(config: TfidfConfig, train: list[Question], dev: list[Question], device: str) -> Fitted:
    features = Features(config, train)
    train_x, dev_x, labels = features(train), features(dev), np.array([q.label for q in train])
    best, history = None, []
    for c in config.regularisation:
        head = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=2000,
                                  random_state=config.seed).fit(train_x, labels)
        dev_p_yes = head.predict_proba(dev_x)[:, 1]
        dev_f1 = tuned(dev, dev_p_yes, config.aggregation)["dev_f1"]
        history.append({"C": c, "dev_f1": dev_f1})
        if best is None or dev_f1 > best["dev_f1"]:
            best = {"C": c, "dev_f1": dev_f1, "head": head, "dev_p_yes": dev_p_yes}
    return scorer(features, best["head"], {"C": best["C"], "vocabulary": len(features.vectorizer.vocabulary_)},
                  best["dev_p_yes"], history)


def save(fitted: Fitted, folder: Path) -> None:
    joblib.dump(fitted.model, folder / "tfidf.joblib")


def load(folder: Path, config: TfidfConfig, chosen: dict, device: str) -> Fitted:
    model = joblib.load(folder / "tfidf.joblib")
    return scorer(model["features"], model["head"], chosen)
