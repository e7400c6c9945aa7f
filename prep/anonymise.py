"""Anonymisation before anything reaches a JSONL: pseudonyms for authors, Presidio for identifiers.

Authors become P01, P02, ... per conversation, numbered in order of first message (so the map
is deterministic and a person cannot be linked across conversations). The same pseudonym
replaces the author's name in messages, statements and stances, and in other people's mentions
of them (`prep.names`: every form of the name, and for a name that is also a word, such as a
forum handle made of everyday words, only where it refers to someone). A name part two authors share becomes <PERSON>; any other @handle or
u/name becomes @<USER>. UNKNOWN_AUTHOR stays (it names nobody). Identifiers (`prep.identifiers`:
emails, URLs, NRIC, FIN, SG phone numbers and postal codes, where their context bears them out)
become their type in angle brackets (<SG_NRIC>, <EMAIL_ADDRESS>, ...). Where matches overlap, the
longest wins (an email that holds an author's name is replaced whole), then the surer type.

Each conversation is anonymised in one go, all its texts at once, on worker processes
(`prep.parallel`); the result does not depend on the number of workers. What was replaced is
counted by type, and by type and original text for the prep report's most replaced texts.

Not caught: names of people who did not post in the conversation (unless written as @handle),
nicknames and other spellings of an author's name, lower-case name parts of a handle ("aaron"
for aaron_goh: handles are made of everyday words, "laksa_lover") or of first names shorter than
four letters ("ben" for Ben Tan), two-letter name parts alone ("Ng"), a name that is also a word
used without a sign that it refers to someone ("ask Tan, she knows", "Big Bear" for Big_Bear_Scot), names in Chinese
characters for authors who post under a Latin name, street addresses without a postal code,
foreign phone numbers, and ids (conversation_id, message_id), which stay as the source gives them.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from prep import identifiers, parallel
from prep.names import NameMatcher, lexicon
from prep.tables import UNKNOWN_AUTHOR, Tables

UNKNOWN_HANDLE = "@<USER>"
_HANDLES = re.compile(r"@[A-Za-z0-9_]{2,30}|(?<![A-Za-z0-9_])/?u/[A-Za-z0-9_-]{3,20}")
SCORES = {"AUTHOR": 0.95, "HANDLE": 0.6}  # an author's @name beats the generic @handle of the same span


class Replacement(NamedTuple):
    start: int
    end: int
    entity: str
    score: float
    text: str


def pseudonyms(messages: list[dict]) -> dict[str, dict[str, str]]:
    """conversation -> author -> P01.., in order of first message (messages are chronological)."""
    names = defaultdict(dict)
    for message in messages:
        authors = names[message["conversation_id"]]
        if message["author"] != UNKNOWN_AUTHOR and message["author"] not in authors:
            authors[message["author"]] = f"P{len(authors) + 1:02d}"
    return dict(names)


def resolve(replacements: list[Replacement]) -> list[Replacement]:
    """Non-overlapping replacements in text order: the longest first, then the higher score."""
    kept = []
    for candidate in sorted(replacements, key=lambda r: (r.start - r.end, -r.score, r.start)):
        if all(candidate.end <= other.start or other.end <= candidate.start for other in kept):
            kept.append(candidate)
    return sorted(kept)


class ConversationAnonymiser:
    """Anonymise the texts of one conversation; counts what it replaced, by type, and (when given
    `strings`) by type and replaced text."""

    def __init__(self, names: dict[str, str], counts: Counter, strings: Counter | None = None):
        self.matcher, self.counts, self.strings = NameMatcher(names), counts, strings

    def __call__(self, text: str) -> str:
        return self.all([text])[0]

    def all(self, texts: list[str]) -> list[str]:
        """The conversation's texts anonymised, each recognizer run once over all of them."""
        return [self.replaced(text, replacements) for text, replacements in zip(texts, self.replacements(texts))]

    def replacements(self, texts: list[str]) -> list[list[Replacement]]:
        """What replaces what in each text: non-overlapping, in text order."""
        found = [[Replacement(m.start, m.end, "AUTHOR", SCORES["AUTHOR"], m.replacement)
                  for m in self.matcher.mentions(text)]
                 + [Replacement(m.start(), m.end(), "HANDLE", SCORES["HANDLE"], UNKNOWN_HANDLE)
                    for m in (_HANDLES.finditer(text) if "@" in text or "u/" in text else ())] for text in texts]
        for item in identifiers.identifiers(texts):
            found[item.text].append(Replacement(item.start, item.end, item.entity, item.score, f"<{item.entity}>"))
        return [resolve(replacements) for replacements in found]

    def replaced(self, text: str, replacements: list[Replacement]) -> str:
        pieces, end = [], 0
        for replacement in replacements:
            pieces += [text[end:replacement.start], replacement.text]
            end = replacement.end
            self.counts[replacement.entity] += 1
            if self.strings is not None:
                self.strings[(replacement.entity, text[replacement.start:replacement.end])] += 1
        return "".join(pieces) + text[end:]


def _anonymise_conversation(_, task: tuple[dict[str, str], list[str]]) -> tuple[list[str], Counter, Counter]:
    names, texts = task
    counts, strings = Counter(), Counter()
    return ConversationAnonymiser(names, counts, strings).all(texts), counts, strings


def anonymise(tables: Tables, workers: int = 1, strings: Counter | None = None
              ) -> tuple[Tables, dict[str, dict[str, str]], dict[str, int]]:
    """Tables with pseudonymous authors and contributors and anonymised texts, the pseudonym map
    (keep it apart from the training data) and the counts of replacements by type; `strings`, when
    given, gets the count of each (type, replaced text)."""
    names = pseudonyms(tables.messages)
    messages_of, statements_of = defaultdict(list), defaultdict(dict)
    for message in tables.messages:
        messages_of[message["conversation_id"]].append(message)
    for stance in tables.stances:
        statements_of[stance["conversation_id"]].setdefault(stance["statement"])
    identifiers.recognizers(), lexicon()  # built once, before the workers fork
    conversations = list(names)
    tasks = ([names[c], [m["text"] for m in messages_of[c]] + list(statements_of[c])] for c in conversations)
    counts, texts, statements = Counter(), {}, {}
    results = parallel.ordered_map(_anonymise_conversation, None, tasks, workers,
                                   {"desc": "anonymise", "unit": " messages", "total": len(tables.messages)},
                                   [len(messages_of[c]) for c in conversations])
    for conversation_id, (anonymised, conversation_counts, conversation_strings) in zip(conversations, results):
        n = len(messages_of[conversation_id])
        texts[conversation_id] = iter(anonymised[:n])
        statements.update({(conversation_id, s): a for s, a in zip(statements_of[conversation_id], anonymised[n:])})
        counts.update(conversation_counts)
        if strings is not None:
            strings.update(conversation_strings)
    messages = [{**m, "author": names[m["conversation_id"]].get(m["author"], m["author"]),
                 "text": next(texts[m["conversation_id"]])} for m in tables.messages]
    stances = [{**s, "contributor": names[s["conversation_id"]][s["contributor"]],
                "statement": statements[(s["conversation_id"], s["statement"])]} for s in tables.stances]
    return replace(tables, messages=messages, stances=stances), names, dict(sorted(counts.items()))


def private_dir(out: Path) -> Path:
    """Where identity-bearing files go (pseudonym map, canonical tables): beside the prepared
    folder, never inside it, so copying the prepared data copies no names."""
    return out.with_name(out.name + ".private")


def write_pseudonym_map(path: Path, names: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(names, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
