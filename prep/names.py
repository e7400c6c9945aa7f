"""Mentions of a conversation's authors, and whether each one refers to the person.

Forms of an author's name: the name as written and its handle forms (AliceTan, alice_tan,
alice.tan), in any case, with or without '@' (also in "RT@name"); a person's first name of four
or more letters in lower case ("alice" for Alice Tan); and, case-sensitively, each part of three
or more letters, capitalised ("Alice", "Faizal"). A part two authors share stands for either
(`AMBIGUOUS`). All forms of one conversation are found in one Aho-Corasick pass (pyahocorasick)
over its lower-cased texts.

A form that is also an English word (a headword of GCIDE, the GNU dictionary, any case:
"American", "Liberty", the "Will" of Will Tan) names the person only where the text refers to
someone: after '@' or "u/", in quote and reply markers ("[QUOTE=X", "Originally posted by X",
"replying to X", "X wrote"), as a vocative ("X, you ...", "X:" or "X," opening a message), before
a verb of saying ("as X said", "X says", "X's post") or after "agree with" / "thanks", unless a
determiner makes it a common noun ("an American", "my uncle said"). A word
that English writes in lower case (Webster's 2nd spells it so: "liberty", "tan", but not
"American") also names the person when capitalised inside a sentence ("ya lor Tan correct").
So "So you are not an American?" and "the liberty to terminate her pregnancy" keep their words.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict
from functools import cache
from typing import NamedTuple

AMBIGUOUS = "<PERSON>"
EDGE = frozenset(string.ascii_letters + string.digits + "_")  # Latin letters and digits only: names glued to Chinese match
SEPARATORS = re.compile(r"[\s._-]+")
_SAYING = r"(?:wrote|writes|said|says|say|posted|posts|mentioned|mentions|replied|replies|argued|argues|claimed|claims|" \
          r"thinks|think|pointed out|put it|noted)"
_REFERS_BEFORE = re.compile(r"(?i)(?:\[quote=[\"']?|originally posted by\s+|quoting\s+|quote from\s+|"
                            r"(?:in )?reply(?:ing)? to\s+|(?:dis)?agreed? with\s+|(?:thanks|thank you|thx|hi|hey|dear),?\s+|"
                            r"\bu/)$")
_REFERS_AFTER = re.compile(rf"(?i)(?:\s+{_SAYING}\b|'s\s+(?:post|point|comment|argument|reply|view|question|answer)\b|"
                           r"\s*,\s*(?:you|your|u)\b)")
_VOCATIVE = re.compile(r"\s*[,:]")  # "X," or "X:" opening a message
_DETERMINED = re.compile(r"(?i)\b(?:a|an|the|my|your|his|her|our|their|its|this|that|these|those|some|any|no|every)\s+$")
_OPENING = re.compile(r"[\s\"'“‘(\[*]*$")  # what may stand between a sentence's start and its first word
_SENTENCE_END = frozenset(".!?。！？…\n")


class Mention(NamedTuple):
    start: int
    end: int
    replacement: str


@cache
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(English words in lower case, the words English writes in lower case)."""
    from english_words import get_english_words_set

    lowercase = {w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower()}
    return frozenset(get_english_words_set(["gcide"], lower=True, alpha=True)), frozenset(lowercase)


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 12):start]
    opening = _OPENING.search(before)
    head = before[:opening.start()]
    return (not head and start - len(before) == 0) or (head[-1:] in _SENTENCE_END)


def _opens_message(text: str, start: int) -> bool:
    return not text[:start].strip(" \t\n\"'“‘(*") if start < 40 else False


class NameMatcher:
    """Mentions of one conversation's authors -> their pseudonyms."""

    def __init__(self, names: dict[str, str]):
        import ahocorasick

        words, lowercase_words = lexicon()
        self.forms: dict[str, str] = {}  # lower-cased full names, handle forms, first names -> pseudonym
        for author, pseudonym in names.items():
            has_letters = any(c.isalpha() for c in author)
            for form in {author, *(SEPARATORS.sub(s, author) for s in ("", "_", ".", " "))}:
                if has_letters or form == author:
                    self._add(self.forms, form.lower(), pseudonym)
        for author, pseudonym in names.items():
            first = author.split()[0] if " " in author.strip() else ""
            if len(first) >= 4 and first.isalpha() and first.lower() not in words:  # "alice" alone means Alice Tan too
                self._add(self.forms, first.lower(), pseudonym)
        part_owners = defaultdict(set)
        for author, pseudonym in names.items():
            for part in SEPARATORS.split(author):
                if len(part) >= 3 and any(c.isalpha() for c in part) and part.lower() not in self.forms:
                    part_owners[part[0].upper() + part[1:]].add(pseudonym)
        self.parts = {part.lower(): (part, owners.pop() if len(owners) == 1 else AMBIGUOUS)
                      for part, owners in part_owners.items()}  # lower-cased -> (as written, pseudonym)
        self.numeric = {f for f in self.forms if not any(c.isalpha() for c in f)}  # ids: only as @id
        keys = set(self.forms) | set(self.parts)
        self.words = {k for k in keys if k in words}
        self.lowercase_words = self.words & lowercase_words
        self.automaton = ahocorasick.Automaton()
        for key in keys:
            self.automaton.add_word(key, key)
        if keys:
            self.automaton.make_automaton()

    @staticmethod
    def _add(forms: dict[str, str], form: str, pseudonym: str) -> None:
        """Two authors' forms that differ only in case or separator stand for either."""
        if forms.setdefault(form, pseudonym) != pseudonym:
            forms[form] = AMBIGUOUS

    def mentions(self, text: str) -> list[Mention]:
        """Every mention that refers to an author (overlapping ones included; the caller keeps the longest)."""
        if not self.forms:
            return []
        lowered = text.lower()
        if len(lowered) != len(text):  # a few letters lower-case to two characters ('İ'): keep offsets aligned
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        found = []
        for last, key in self.automaton.iter(lowered):
            start, end = last - len(key) + 1, last + 1
            if end < len(text) and text[end] in EDGE:
                continue
            at = start > 0 and text[start - 1] == "@"
            if start > 0 and not at and text[start - 1] in EDGE:
                continue
            pseudonym = self._pseudonym(text, start, end, key, at)
            if pseudonym is not None:
                found.append(Mention(start - at, end, ("@" if at and pseudonym != AMBIGUOUS else "") + pseudonym))
        return found

    def _pseudonym(self, text: str, start: int, end: int, key: str, at: bool) -> str | None:
        """Whose name this is, or None when it is not a mention of an author."""
        if key in self.numeric:
            return self.forms[key] if at else None
        pseudonym = self.forms.get(key) or self.parts[key][1]
        if key in self.words:
            return pseudonym if at or self._refers(text, start, end, key) else None
        if key in self.forms or text[start:end] == self.parts[key][0]:
            return pseudonym
        return None

    def _refers(self, text: str, start: int, end: int, key: str) -> bool:
        """Whether a name that is also a word is used here to refer to someone."""
        before = text[max(0, start - 30):start]
        if _REFERS_BEFORE.search(before):
            return True
        if _DETERMINED.search(before):  # "an American", "the liberty", "my uncle said"
            return False
        if _REFERS_AFTER.match(text, end):
            return True
        if _VOCATIVE.match(text, end) and _opens_message(text, start):
            return True
        written = text[start:end]
        return (key in self.lowercase_words and written[0].isupper() and not written.isupper()
                and not _starts_sentence(text, start))
