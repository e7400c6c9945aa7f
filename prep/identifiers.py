"""Identifiers in a conversation's texts: Presidio's pattern recognizers, run once per conversation.

Recognizers: Presidio's email (its public-suffix check reads the snapshot that ships with
tldextract instead of fetching it) and URL, and presidio-sg-recognizers' NRIC and FIN (with
checksum; also when glued to other text, as in 身份證S1234567D), SG phone and SG postal code.
No NLP model is loaded: only the recognizers' patterns and validators run.

Speed: each recognizer scans a conversation once, and only the parts where it can match at all
(`SCOPES`), joined into one text: emails and URLs never hold whitespace, so only the non-space
runs holding '@' or '.x' are scanned; every Singapore number holds four digits in a row, so
only the texts that do are. The texts are joined with a blank line, which no pattern crosses
(`scan` checks it).

Context, since a pattern alone over-reaches:
- a number that is part of a larger number ("1.66666667", "3,612,345"), follows '#' (a post or
  order number) or sits inside forum markup ("[QUOTE=name;612345]") is no phone number and no
  postal code;
- a six-digit number is a postal code only with an address word (the recognizer's context: Blk,
  Road, Singapore, ...) among the five words before it, the window Presidio's context enhancer
  reads (the recognizer's score is below any useful threshold without one);
- a URL without a scheme must end where its word ends, hold no run of dots, and start with
  `www.`, or have a path after its host, or end in a known domain (`KNOWN_DOMAIN`: .com, .org,
  .gov.sg, ...). Words joined by an ellipsis ("guy....my", "poor...it") or run together
  ("agree.It", "lah.So") stay words, though .my, .it and .so are top-level domains;
  "cpf.gov.sg", "Straitstimes.com" and "senate.gov/~levin/..." are URLs.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from contextlib import contextmanager
from functools import cache
from typing import NamedTuple

JOIN = "\n\n"
_EDGE = "A-Za-z0-9_"
SCOPES = [  # (entities, texts worth scanning, the runs of them to scan; None: the whole text)
    (("EMAIL_ADDRESS",), re.compile("@"), re.compile(r"\S*@\S*")),
    (("URL",), re.compile(r"\.[A-Za-z]"), re.compile(r"\S*\.[A-Za-z]\S*")),
    (("SG_NRIC", "SG_FIN", "SG_PHONE", "SG_POSTAL"), re.compile(r"\d{4}"), None),
]
_IN_NUMBER_BEFORE = re.compile(r"(?:[0-9][.,]|#)$")
_IN_NUMBER_AFTER = re.compile(r"[.,][0-9]")
_MARKUP = re.compile(r"\[[A-Za-z]+=[^\]\n]*\]")  # [QUOTE=name;612345], [post=612345]
_WORD = re.compile(r"\w+")
_SCHEME = re.compile(r"(?i)[\"']?https?://")
_WWW = re.compile(r"(?i)www\.")
# generic top-level domains, and a country's under one of the usual second levels (gov.sg, co.uk, com.au)
KNOWN_DOMAIN = re.compile(r"(?i)\.(?:com|org|net|edu|gov|mil|int|info|biz|(?:ac|co|com|edu|gov|net|org)\.[a-z]{2})$")
POSTAL_CONTEXT_WORDS = 5


class Found(NamedTuple):
    text: int  # index of the text in the conversation
    start: int
    end: int
    entity: str
    score: float


@contextmanager
def _uninstalled(*modules: str):
    """Import with these modules looking uninstalled: a None entry in sys.modules makes importing
    them fail with ImportError, which is how optional dependencies are probed."""
    hidden = [name for name in modules if name not in sys.modules]
    sys.modules.update(dict.fromkeys(hidden))
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


@cache
def recognizers() -> dict:
    """entity -> Presidio recognizer, built once (forked workers share them)."""
    # Presidio's package imports its NLP engines, and they import torch and transformers when
    # installed (10 s); pattern recognizers need neither.
    with _uninstalled("torch", "transformers"):
        from presidio_analyzer import Pattern
        from presidio_analyzer.predefined_recognizers import EmailRecognizer, UrlRecognizer
    import tldextract
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
    return {"EMAIL_ADDRESS": OfflineEmailRecognizer(), "URL": UrlRecognizer(), "SG_NRIC": nric, "SG_FIN": fin,
            "SG_PHONE": phone, "SG_POSTAL": sg_postal.build_recognizer()}


@cache
def _postal_context() -> re.Pattern:
    from presidio_sg_recognizers import sg_postal

    words = sorted((w.lower() for w in sg_postal.build_recognizer().context), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")


def scan(entities: tuple[str, ...], worth: re.Pattern, runs: re.Pattern | None, texts: list[str]) -> list[Found]:
    """Matches of some recognizers over a conversation's texts: one call each on the parts they can match."""
    pieces = []  # (text index, offset of the piece in its text, piece)
    for index, text in enumerate(texts):
        if worth.search(text):
            pieces += [(index, 0, text)] if runs is None else [(index, m.start(), m.group()) for m in runs.finditer(text)]
    if not pieces:
        return []
    starts, position = [], 0
    for _, _, piece in pieces:
        starts.append(position)
        position += len(piece) + len(JOIN)
    joined = JOIN.join(piece for _, _, piece in pieces)
    found = []
    for entity in entities:
        recognizer = recognizers()[entity]
        for result in recognizer.analyze(joined, recognizer.supported_entities):
            which = bisect_right(starts, result.start) - 1
            index, offset, piece = pieces[which]
            start, end = result.start - starts[which], result.end - starts[which]
            if end > len(piece):
                raise RuntimeError(f"{entity} pattern matched across two texts: {joined[result.start:result.end]!r}")
            while start < end and piece[start].isspace():  # the SG phone pattern can take the space before the number
                start += 1
            found.append(Found(index, offset + start, offset + end, entity, result.score))
    return found


def in_context(found: Found, text: str) -> bool:
    """Whether a match is what its type says, given the text around it (see the module's notes)."""
    before, after = text[max(0, found.start - 60):found.start], text[found.end:found.end + 2]
    if found.entity in ("SG_PHONE", "SG_POSTAL"):
        if _IN_NUMBER_BEFORE.search(before) or _IN_NUMBER_AFTER.match(after):
            return False
        if any(m.start() < found.start < m.end() for m in _MARKUP.finditer(text, max(0, found.start - 200),
                                                                           found.end + 200)):
            return False
    if found.entity == "SG_POSTAL":
        nearby = " ".join(_WORD.findall(before)[-POSTAL_CONTEXT_WORDS:]).lower()
        return _postal_context().search(nearby) is not None
    if found.entity == "URL" and not _SCHEME.match(text, found.start):
        url = text[found.start:found.end]
        host, _, path = url.partition("/")
        return (not re.match(rf"[{_EDGE}]", after) and ".." not in url
                and (_WWW.match(url) is not None or bool(path) or KNOWN_DOMAIN.search(host) is not None))
    return True


def identifiers(texts: list[str]) -> list[Found]:
    """Every identifier in a conversation's texts that holds up in its context."""
    return [found for scope in SCOPES for found in scan(*scope, texts) if in_context(found, texts[found.text])]
