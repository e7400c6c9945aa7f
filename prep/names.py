"""Mentions of a conversation's authors, and whether each one refers to the person.

Forms of an author's name: the name as written and its handle forms (AliceTan, alice_tan,
alice.tan), in any case, with or without '@' (also in "RT@name"); a person's first name of four
or more letters in lower case ("alice" for Alice Tan); and, case-sensitively, each part of three
or more letters, capitalised ("Alice", "Faizal"). A part two authors share stands for either
(`AMBIGUOUS`). All forms of one conversation are found in one Aho-Corasick pass (pyahocorasick)
over its lower-cased texts.

A form that is also an English word (a headword of GCIDE, the GNU dictionary, any case:
"American", "Liberty", "God" of "God Fearing Ath", the "Will" of Will Tan) names the person only
where the text refers to someone: after '@' or "u/", in quote and reply markers ("[QUOTE=X",
"Originally posted by X", "replying to X", "X wrote"), as a vocative ("X, you ...", "X:" or "X,"
opening a message, or between commas: "Unfortunately, Archangel, I ..."), before a verb of saying or of stance ("as X said", "X says", "X's post",
"X disagrees", "X is right", "ya lor X correct"), after "agree with" / "thanks" / "同意", or alone on its line (a
signature), unless a determiner makes it a common noun ("an American", "my uncle said"). A part
of a name must also be capitalised there, and a function word ("The" of "The Barbarian") names
nobody without '@'. Capitals alone prove little: forum handles are made of words, so "God
exists", "The law" and "North America" keep their words. Only a one-word name that English
writes only in lower case (Webster's 2nd spells it so and never capitalised: "electrolyte",
"archangel", not "God", "Bell" or "Will") also names the person when capitalised inside a
sentence ("While Electrolyte may have come out rather strongly"). Every part of a name written
as a phrase (capitals and lower case: "Captain America banned") that Webster's 2nd lists is read
as a word. A name of several words written in lower case is words ("any obvious child"; "Obvious
Child" is the handle). A name in capitals after a determiner is an acronym ("the RKBA").
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
          r"thinks|think|pointed out|put it|noted|agrees|agree|disagrees|disagree|is right|is wrong|is correct|correct)"
_REFERS_BEFORE = re.compile(r"(?i)(?:\[quote=[\"']?|originally posted by\s+|quoting\s+|quote from\s+|"
                            r"(?:in )?reply(?:ing)? to\s+|(?:dis)?agreed? with\s+|(?:thanks|thank you|thx|hi|hey|dear),?\s+|"
                            r"同意\s*|\bu/)$")
_REFERS_AFTER = re.compile(rf"(?i)(?:\s+{_SAYING}\b|'s\s+(?:post|point|comment|argument|reply|view|question|answer)\b|"
                           r"\s*,\s*(?:you|your|u)\b)")
_VOCATIVE = re.compile(r"\s*[,:]")  # "X," or "X:" opening a message
_DETERMINED = re.compile(r"(?i)\b(?:a|an|the|my|your|his|her|our|their|its|this|that|these|those|some|any|no|every)\s+$")
_BETWEEN_COMMAS = re.compile(r"\s*[,?!]")  # ", X," or ", X?": addressing inside a sentence
_OPENING = re.compile(r"[\s\"'“‘(\[*]*$")  # what may stand between a sentence's start and its first word
_SENTENCE_END = frozenset(".!?。！？…\n")
_SIGNATURE_MARKS = " \t-~*"  # what may stand beside a name alone on its line ("-- Waxy")
FUNCTION_WORDS = frozenset("the and for nor but yet with from into onto upon about this that these those "
                           "its our his her their your you they them are was were been has have had not".split())


class Lexicon(NamedTuple):
    words: frozenset[str]  # GCIDE headwords, lower-cased
    listed: frozenset[str]  # Webster's 2nd entries, lower-cased: words and proper nouns ("america")
    lowercase_only: frozenset[str]  # what Webster's 2nd writes only in lower case ("electrolyte", not "god")


class Mention(NamedTuple):
    start: int
    end: int
    replacement: str


@cache
def lexicon() -> Lexicon:
    from english_words import get_english_words_set

    web2 = get_english_words_set(["web2"], lower=False, alpha=True)
    return Lexicon(frozenset(get_english_words_set(["gcide"], lower=True, alpha=True)), frozenset(w.lower() for w in web2),
                   frozenset(w for w in web2 if w.islower() and w.capitalize() not in web2))


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 12):start]
    head = before[:_OPENING.search(before).start()]
    return (not head and start - len(before) == 0) or (head[-1:] in _SENTENCE_END)


def _alone_on_line(text: str, start: int, end: int) -> bool:
    line_end = text.find("\n", end)
    return (not text[text.rfind("\n", 0, start) + 1:start].strip(_SIGNATURE_MARKS)
            and not text[end:len(text) if line_end < 0 else line_end].strip(_SIGNATURE_MARKS + ".!"))


def _phrase(author: str) -> bool:
    """A name written as a phrase, with parts in capitals and in lower case ("Captain America banned",
    "Dan the White"): a handle, not a person's name, so each of its parts reads as a word."""
    initials = {part[0].isupper() for part in author.split() if part[:1].isalpha()}
    return len(initials) == 2


def _opens_message(text: str, start: int) -> bool:
    return not text[:start].strip(" \t\n\"'“‘(*") if start < 40 else False


class NameMatcher:
    """Mentions of one conversation's authors -> their pseudonyms."""

    def __init__(self, names: dict[str, str]):
        import ahocorasick

        words, listed, lowercase_only = lexicon()
        self.forms: dict[str, str] = {}  # lower-cased full names, handle forms, first names -> pseudonym
        for author, pseudonym in names.items():
            has_letters = any(c.isalpha() for c in author)
            for form in {author, *(SEPARATORS.sub(s, author) for s in ("", "_", ".", " "))}:
                if has_letters or form == author:
                    self._add(self.forms, form.lower(), pseudonym)
        for author, pseudonym in names.items():
            first = author.split()[0] if " " in author.strip() else ""
            if (len(first) >= 4 and first.isalpha() and first.lower() not in words
                    and not _phrase(author)):  # "alice" alone means Alice Tan too
                self._add(self.forms, first.lower(), pseudonym)
        part_owners, phrase_parts = defaultdict(set), set()
        for author, pseudonym in names.items():
            for part in SEPARATORS.split(author):
                if len(part) >= 3 and any(c.isalpha() for c in part) and part.lower() not in self.forms:
                    part_owners[part[0].upper() + part[1:]].add(pseudonym)
                    if _phrase(author) and part.lower() in listed:
                        phrase_parts.add(part.lower())
        self.parts = {part.lower(): (part, owners.pop() if len(owners) == 1 else AMBIGUOUS)
                      for part, owners in part_owners.items()}  # lower-cased -> (as written, pseudonym)
        self.numeric = {f for f in self.forms if not any(c.isalpha() for c in f)}  # ids: only as @id
        keys = set(self.forms) | set(self.parts)
        self.word_phrases = {k for k in self.forms if " " in k and all(w in words for w in k.split())}
        self.words = {k for k in keys if k in words} | phrase_parts | self.word_phrases
        one_word = {author.lower() for author in names if len(SEPARATORS.split(author.strip())) == 1}
        self.lowercase_handles = self.words & one_word & lowercase_only
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
        if at:
            return pseudonym
        if key in FUNCTION_WORDS:
            return None
        if key in self.words:
            if key in self.word_phrases and not text[start:end].islower():
                return pseudonym  # "Obvious Child" is the handle, "any obvious child" two words
            capitalised = key in self.forms or text[start].isupper()
            return pseudonym if capitalised and self._refers(text, start, end, key in self.lowercase_handles) else None
        if text[start:end].isupper() and len(key) > 1 and _DETERMINED.search(text, max(0, start - 10), start):
            return None  # an acronym after a determiner: "the RKBA" is the right to keep and bear arms
        if key in self.forms or text[start:end] == self.parts[key][0]:
            return pseudonym
        return None

    @staticmethod
    def _refers(text: str, start: int, end: int, lowercase_handle: bool) -> bool:
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
        if before.rstrip(" ").endswith(",") and _BETWEEN_COMMAS.match(text, end):
            return True
        if (lowercase_handle and text[start].isupper() and not text[start:end].isupper()
                and not _starts_sentence(text, start)):  # "While Electrolyte may have come out rather strongly"
            return True
        return _alone_on_line(text, start, end)
