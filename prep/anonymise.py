"""Anonymisation before anything reaches a JSONL: pseudonyms for authors, Presidio for identifiers.

Authors become P01, P02, ... per conversation, numbered in order of first message (so the map
is deterministic and a person cannot be linked across conversations). The same pseudonym
replaces the author's name in messages, statements and stances, and in other people's mentions
of them: the name as written (any case, with or without '@', also in "RT@name"), its handle
forms (AliceTan, alice_tan, alice.tan) and, case-sensitively, each part of three or more letters,
capitalised ("Alice", "Faizal"). A part shared by two authors of the conversation becomes
<PERSON>; any other @handle or u/name becomes @<USER>. UNKNOWN_AUTHOR stays (it names nobody).

Identifiers go through Presidio's analyzer with pattern recognizers only, so it runs offline
with no NLP model (NoOpNlpEngine): email and URL (Presidio's own; the email check reads the
public-suffix snapshot that ships with tldextract instead of fetching it), and the Singapore
recognizers of presidio-sg-recognizers (NRIC and FIN with checksum, SG phone, SG postal code).
NRIC/FIN also match when glued to other text (身份證S1234567D, FINF1234567N; the checksum keeps
this safe). Without an NLP model Presidio cannot look for context words near a match, so the
whole message is passed as context: a bare six-digit number counts as a postal code only when
an address word (Blk, Road, Singapore, ...) is in the message. Each match becomes its type in
angle brackets (<SG_NRIC>, <EMAIL_ADDRESS>, ...).

Not caught: names of people who did not post in the conversation (unless written as @handle),
nicknames and other spellings of an author's name, lower-case name parts of a handle ("aaron"
for aaron_goh: handles are made of everyday words, "laksa_lover") or of first names shorter than
four letters ("ben" for Ben Tan), two-letter name parts alone ("Ng"), names in Chinese characters for
authors who post under a Latin name, street addresses without a postal code, foreign phone
numbers, and ids (conversation_id, message_id), which stay as the source gives them.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import replace
from functools import cache
from pathlib import Path

from prep.schema import UNKNOWN_AUTHOR, Tables

ENTITIES = ("EMAIL_ADDRESS", "URL", "SG_NRIC", "SG_FIN", "SG_PHONE", "SG_POSTAL", "AUTHOR", "HANDLE")
SCORE_THRESHOLD = 0.5  # SG_POSTAL's 0.3 passes only with an address word in the message
AMBIGUOUS = "<PERSON>"
UNKNOWN_HANDLE = "@<USER>"
_EDGE = "A-Za-z0-9_"  # name boundaries: Latin letters and digits only, so names glued to Chinese still match
_SEPARATORS = re.compile(r"[\s._-]+")
_WORDS = re.compile(r"\w+")


@cache
def _analyzer():
    """Presidio's analyzer with pattern recognizers only and no NLP model, built once."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, UrlRecognizer
    from presidio_sg_recognizers import sg_fin, sg_nric, sg_phone, sg_postal

    offline_suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_suffixes(pattern_text).fqdn != ""

    nric, fin = sg_nric.build_recognizer(), sg_fin.build_recognizer()
    for recognizer, prefixes in ((nric, "STst"), (fin, "FGMfgm")):  # `\b` fails in 證S1234567D and FIN:F1234567N
        recognizer.patterns.append(Pattern(f"{recognizer.supported_entities[0]} glued to other text",
                                           rf"(?<![0-9])[{prefixes}][0-9]{{7}}[A-Za-z](?![{_EDGE}])", 0.85))
    phone = sg_phone.build_recognizer()  # its pattern has no boundaries: "4303884 4303884" held "3884 4303"
    phone.patterns = [Pattern(p.name, rf"(?<![0-9]){p.regex}(?![0-9])", p.score) for p in phone.patterns]
    handles = PatternRecognizer(supported_entity="HANDLE", patterns=[
        Pattern("@handle", r"@[A-Za-z0-9_]{2,30}", 0.6),  # inside an email it loses to the longer email match
        Pattern("reddit user", rf"(?<![{_EDGE}])/?u/[A-Za-z0-9_-]{{3,20}}", 0.6)])
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (OfflineEmailRecognizer(), UrlRecognizer(), nric, fin, phone,
                       sg_postal.build_recognizer(), handles):
        registry.add_recognizer(recognizer)
    nlp_engine = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp_engine.load()
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def pseudonyms(messages: list[dict]) -> dict[str, dict[str, str]]:
    """conversation -> author -> P01.., in order of first message (messages are chronological)."""
    names = defaultdict(dict)
    for message in messages:
        authors = names[message["conversation_id"]]
        if message["author"] != UNKNOWN_AUTHOR and message["author"] not in authors:
            authors[message["author"]] = f"P{len(authors) + 1:02d}"
    return dict(names)


class NameMatcher:
    """Mentions of one conversation's authors -> their pseudonyms (a Presidio recognizer + lookup)."""

    def __init__(self, names: dict[str, str]):
        self.forms, self.parts = {}, {}  # forms: lower-cased full name / handle; parts: exact
        for author, pseudonym in names.items():
            has_letters = any(c.isalpha() for c in author)
            for form in {author, *(_SEPARATORS.sub(s, author) for s in ("", "_", ".", " "))}:
                if has_letters or form == author:
                    known = self.forms.setdefault(form.lower(), pseudonym)
                    if known != pseudonym:  # two authors' handles that differ only in case or separator
                        self.forms[form.lower()] = AMBIGUOUS
        for author, pseudonym in names.items():
            first = author.split()[0] if " " in author.strip() else ""
            if len(first) >= 4 and first.isalpha():  # a person's name: "alice" alone means Alice Tan too
                known = self.forms.setdefault(first.lower(), pseudonym)
                if known != pseudonym:
                    self.forms[first.lower()] = AMBIGUOUS
        part_owners = defaultdict(set)
        for author, pseudonym in names.items():
            for part in _SEPARATORS.split(author):
                if len(part) >= 3 and any(c.isalpha() for c in part) and part.lower() not in self.forms:
                    part_owners[part[0].upper() + part[1:]].add(pseudonym)
        self.parts = {part: owners.pop() if len(owners) == 1 else AMBIGUOUS for part, owners in part_owners.items()}
        self.numeric = {f for f in self.forms if not any(c.isalpha() for c in f)}  # ids: only as @id

    def recognizer(self):
        from presidio_analyzer import Pattern, PatternRecognizer

        def alternation(items):
            return "|".join(re.escape(i) for i in sorted(items, key=lambda i: (-len(i), i)))

        start = rf"(?:@|(?<![{_EDGE}@]))"  # '@' may follow anything ("RT@name"); a bare name starts a word
        patterns = []
        worded = set(self.forms) - self.numeric
        if worded:
            patterns.append(Pattern("author", rf"{start}(?i:{alternation(worded)})(?![{_EDGE}])", 0.95))
        if self.numeric:
            patterns.append(Pattern("author id", rf"@(?:{alternation(self.numeric)})(?![{_EDGE}])", 0.95))
        if self.parts:
            patterns.append(Pattern("author name part", rf"{start}(?:{alternation(self.parts)})(?![{_EDGE}])", 0.9))
        if not patterns:
            return None
        return PatternRecognizer(supported_entity="AUTHOR", patterns=patterns, global_regex_flags=re.DOTALL | re.MULTILINE)

    def pseudonym(self, mention: str) -> str:
        name = mention.removeprefix("@")
        found = self.forms.get(name.lower()) or self.parts.get(name)
        return ("@" if mention.startswith("@") and found != AMBIGUOUS else "") + found


def non_overlapping(results: list) -> list:
    """Keep the longest of overlapping matches (then the higher score), in text order: an email
    or URL that contains an author's name is replaced whole, and a name is never cut in two."""
    kept = []
    for result in sorted(results, key=lambda r: (r.start - r.end, -r.score, r.start)):
        if all(result.end <= other.start or other.end <= result.start for other in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


class ConversationAnonymiser:
    """Anonymise the texts of one conversation; counts what it replaced, by type."""

    def __init__(self, names: dict[str, str], counts: Counter):
        self.matcher, self.counts = NameMatcher(names), counts
        self.recognizer = self.matcher.recognizer()

    def __call__(self, text: str) -> str:
        results = _analyzer().analyze(text, language="en", entities=list(ENTITIES), score_threshold=SCORE_THRESHOLD,
                                     context=_WORDS.findall(text.lower()),
                                     ad_hoc_recognizers=[self.recognizer] if self.recognizer else None)
        for result in results:  # the SG phone pattern can take the space before the number
            while result.start < result.end and text[result.start].isspace():
                result.start += 1
        pieces, end = [], 0
        for result in non_overlapping(results):
            pieces += [text[end:result.start], self.replacement(result.entity_type, text[result.start:result.end])]
            end = result.end
            self.counts[result.entity_type] += 1
        return "".join(pieces) + text[end:]

    def replacement(self, entity: str, found: str) -> str:
        if entity == "AUTHOR":
            return self.matcher.pseudonym(found)
        return UNKNOWN_HANDLE if entity == "HANDLE" else f"<{entity}>"


def anonymise(tables: Tables) -> tuple[Tables, dict[str, dict[str, str]], dict[str, int]]:
    """Tables with pseudonymous authors and contributors and anonymised texts, the pseudonym map
    (keep it apart from the training data) and the counts of replacements by type."""
    names = pseudonyms(tables.messages)
    counts = Counter()
    anonymisers = {c: ConversationAnonymiser(n, counts) for c, n in names.items()}
    messages = [{**m, "author": names[m["conversation_id"]].get(m["author"], m["author"]),
                 "text": anonymisers[m["conversation_id"]](m["text"])} for m in tables.messages]
    statements = {}
    for stance in tables.stances:
        key = (stance["conversation_id"], stance["statement"])
        if key not in statements:
            statements[key] = anonymisers[key[0]](stance["statement"])
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
