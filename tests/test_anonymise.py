"""Anonymisation: planted-PII recall, precision on text that only looks like PII, consistent
pseudonyms, nothing identifying in the JSONL.

The recall set is generated here with a fixed seed: messages in English, Singlish and
Chinese, each carrying one planted item (NRIC/FIN with a valid checksum, SG phone, email,
author-name mention, postal code, URL). An item counts as caught when its text is gone and the
expected replacement stands in its place (for a name part two authors share, such as "Lim",
<PERSON>). The precision set (`MEANING`) plants, in one forum conversation whose authors'
names are also English words, both personal data and look-alikes that must stay: the names used
as words, decimals, forum quote tags, post and order numbers. Run with -s to print both tables.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections import Counter, defaultdict

import pytest

from prep.anonymise import ConversationAnonymiser, anonymise, private_dir, pseudonyms
from prep.names import AMBIGUOUS
from prep.tables import UNKNOWN_AUTHOR
from prep.validate import load_tables

AUTHORS = ["Alice Tan", "Muhammad Faizal", "Priya Ramasamy", "Jonathan Lim", "Siti Nurhaliza Binte Osman", "Lim Ah Beng",
           "aaron_goh", "kopi.uncle", "MrsLee88", "sgDad2019", "陈伟明", "Kumar"]
TARGETS = {"SG_NRIC": 1.0, "SG_FIN": 1.0, "SG_PHONE": 1.0, "EMAIL_ADDRESS": 1.0, "AUTHOR": 0.95, "SG_POSTAL": 1.0,
           "URL": 1.0}


def valid_ids(rng: random.Random, prefixes: str, n: int) -> list[str]:
    """NRIC/FIN numbers whose check letter is right (found with the recognizer's own checksum)."""
    from presidio_sg_recognizers import sg_fin, sg_nric

    check = {**dict.fromkeys("ST", sg_nric.build_recognizer()), **dict.fromkeys("FGM", sg_fin.build_recognizer())}
    found = []
    while len(found) < n:
        stem = rng.choice(prefixes) + "".join(rng.choices(string.digits, k=7))
        letters = [c for c in string.ascii_uppercase if check[stem[0]].validate_result(stem + c)]
        if letters:
            found.append(stem + letters[0])
    return found


def mention_forms(author: str) -> list[tuple[str, bool]]:
    """(how people write the author's name, whether the anonymiser is meant to catch it)."""
    parts = author.replace("_", " ").replace(".", " ").split()
    forms = [(author, True), ("@" + author.replace(" ", ""), True), (author.lower(), True), (author.upper(), True)]
    if len(parts) > 1:
        forms += [(parts[0].capitalize(), True), (parts[-1].capitalize(), True), ("@" + "_".join(parts).lower(), True),
                  # a lower-case first name alone: caught for a person's name of 4+ letters, not for handle parts
                  (parts[0].lower(), " " in author and len(parts[0]) >= 4 and parts[0].isalpha())]
    return forms


def planted_set(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for value in valid_ids(rng, "ST", 60):
        template = rng.choice(["My IC is {} can check", "NRIC: {}", "ic no. {} pls verify", "我的身份證{}，唔該",
                               "({}) was on the form", "nric {} lor"])
        shown = value.lower() if rng.random() < 0.2 else value
        cases.append({"type": "SG_NRIC", "value": shown, "text": template.format(shown), "replacement": "<SG_NRIC>"})
    for value in valid_ids(rng, "FGM", 60):
        template = rng.choice(["FIN {} expired already", "his FIN is {}", "工作准证FIN{}", "pass no {}."])
        cases.append({"type": "SG_FIN", "value": value, "text": template.format(value), "replacement": "<SG_FIN>"})
    for _ in range(120):
        digits = rng.choice("689") + "".join(rng.choices(string.digits, k=7))
        shown = rng.choice([digits, f"{digits[:4]} {digits[4:]}", f"{digits[:4]}-{digits[4:]}", f"+65 {digits[:4]} {digits[4:]}",
                            f"+65{digits}", f"0065 {digits}", f"+65-{digits[:4]}-{digits[4:]}"])
        template = rng.choice(["call me at {} lah", "WhatsApp {} for details", "hp: {}", "電話{}搵我", "my number {}."])
        cases.append({"type": "SG_PHONE", "value": shown, "text": template.format(shown), "replacement": "<SG_PHONE>"})
    for _ in range(100):
        user = rng.choice(["alice.tan", "faizal_88", "priya.r", "jon+cpf", "kopiuncle", "lee.mei.ling"])
        shown = f"{user}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'hotmail.sg', 'yahoo.com.sg', 'example.gov.sg', 'qq.com'])}"
        template = rng.choice(["email me at {}", "send to {} ok", "電郵：{}", "contact {}."])
        cases.append({"type": "EMAIL_ADDRESS", "value": shown, "text": template.format(shown), "replacement": "<EMAIL_ADDRESS>"})
    for _ in range(60):
        code = str(rng.randint(10, 82)) + "".join(rng.choices(string.digits, k=4))
        template = rng.choice(["Blk 123 Ang Mo Kio Ave 3 Singapore {}", "my address is 10 Pasir Ris Drive, S({})",
                               "postal code {} near the MRT", "住喺 Blk 5 Tampines Street 11, {}"])
        cases.append({"type": "SG_POSTAL", "value": code, "text": template.format(code), "replacement": "<SG_POSTAL>"})
    for _ in range(40):
        shown = rng.choice(["https://www.cpf.gov.sg/member/retirement", "www.straitstimes.com/singapore/cpf-changes",
                            "http://bit.ly/3xYz9", "https://t.co/AbC123"])
        cases.append({"type": "URL", "value": shown, "text": f"read this {shown} first", "replacement": "<URL>"})
    names = pseudonyms([{"conversation_id": "c", "author": a} for a in AUTHORS])["c"]
    for author in AUTHORS:
        for (shown, expected), template in ((form, t) for form in mention_forms(author) for t in rng.sample([
                "{} said it better", "agree with {}", "{}'s point is valid", "我同意{}的看法", "ask {}, she knows",
                "ya lor {} correct", "like what {} say, CPF is for retirement"], 3)):
            cases.append({"type": "AUTHOR" if expected else "AUTHOR (not expected)", "value": shown,
                          "text": template.format(shown),
                          "replacement": (("@" if shown.startswith("@") else "") + names[author], AMBIGUOUS)})
    return cases


@pytest.fixture(scope="module")
def recall() -> dict[str, tuple[int, int]]:
    cases = planted_set()
    names = pseudonyms([{"conversation_id": "c", "author": a} for a in AUTHORS])["c"]
    anonymiser = ConversationAnonymiser(names, Counter())
    caught = defaultdict(lambda: [0, 0])
    for case in cases:
        out = anonymiser(case["text"])
        caught[case["type"]][1] += 1
        replacements = case["replacement"] if isinstance(case["replacement"], tuple) else (case["replacement"],)
        caught[case["type"]][0] += case["value"] not in out and any(r in out for r in replacements)
    print("\n| PII type | planted | caught | recall |\n|---|---|---|---|")
    for kind, (hit, total) in sorted(caught.items()):
        print(f"| {kind} | {total} | {hit} | {hit / total:.1%} |")
    return dict(caught)


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_planted_pii_recall_meets_target(recall, kind):
    hit, total = recall[kind]
    assert total >= 40 and hit / total >= TARGETS[kind], (kind, hit, total)


def test_invalid_checksum_is_not_an_nric():
    """The checksum is applied: S1234567A has the wrong check letter and stays."""
    anonymiser = ConversationAnonymiser({}, Counter())
    assert anonymiser("ref S1234567D ok") == "ref <SG_NRIC> ok"
    assert anonymiser("ref S1234567A ok") == "ref S1234567A ok"


def test_shared_name_part_is_not_given_to_either_author():
    anonymiser = ConversationAnonymiser({"Alice Tan": "P01", "Ben Tan": "P02"}, Counter())
    assert anonymiser("Alice and Ben agree, Tan disagrees") == f"P01 and P02 agree, {AMBIGUOUS} disagrees"


def test_pseudonyms_are_consistent_and_deterministic(tiny_tables):
    tables = load_tables(*tiny_tables)
    tables.messages[1]["text"] = "Agree with you Alice Tan! @AliceTan said it"
    anonymised, names, counts = anonymise(tables)
    again, names_again, _ = anonymise(load_tables(*tiny_tables))
    assert names == names_again == {"c1": {"Alice Tan": "P01", "Bob": "P02", "Chen": "P03"}, "c2": {"Dana": "P01", "Eve": "P02"}}
    assert anonymised.messages[1]["text"] == "Agree with you P01! @P01 said it" and counts["AUTHOR"] == 2
    by_message = {(m["conversation_id"], m["message_id"]): m["author"] for m in anonymised.messages}
    for original, message in zip(tables.messages, anonymised.messages):
        assert by_message[(original["conversation_id"], original["message_id"])] == names[original["conversation_id"]][original["author"]]
    assert [s["contributor"] for s in anonymised.stances] == [names[s["conversation_id"]][s["contributor"]] for s in tables.stances]
    assert anonymised.messages[2:] == again.messages[2:]


def test_unknown_author_is_not_a_person():
    names = pseudonyms([{"conversation_id": "c", "author": a} for a in ("Bob", UNKNOWN_AUTHOR, "Eve")])
    assert names == {"c": {"Bob": "P01", "Eve": "P02"}}


def test_prepared_data_names_nobody(tiny_tables, model_dir, tmp_path):
    """Through prep.build: the JSONL carries pseudonyms only; the map lies outside the folder."""
    from prep import build

    out = tmp_path / "prepared"
    build.main(["--messages", str(tiny_tables[0]), "--stances", str(tiny_tables[1]), "--tokenizer", str(model_dir),
                "--sequence-len", "1024", "--split", "0.5,0.5,0", "--out", str(out)])
    text = "".join(p.read_text(encoding="utf-8") for p in out.glob("*.jsonl"))
    tables = load_tables(*tiny_tables)
    for name in {m["author"] for m in tables.messages}:
        assert name not in text
    assert '"contributor": "P01"' in text
    assert not list(out.glob("*pseudonym*"))
    mapping = json.loads((private_dir(out) / "pseudonyms.json").read_text())
    assert mapping["c1"]["Alice Tan"] == "P01"


# A debate forum's conversation whose authors' names are also English words ("American", "Liberty",
# the "Will", "Grace", "Tan", "Mark", "Hope" of their names), plus two that are not. Each template
# marks personal data that must go as {P:...} and look-alikes that must stay as {W:...}; {phone},
# {postal}, {decimal}, {post_id} and {order} are drawn per message.
MEANING_AUTHORS = ["American", "Liberty", "Will Tan", "Grace Lim", "Hope", "Mark Lee", "Alice Tan", "Priya Ramasamy"]
MEANING = {
    "name as a word": [
        "So you are not an {W:American}?", "{W:American} Indian creation stories are older than that.",
        "The {W:American} economy grew last year.", "She said a woman's right to privacy included the {W:liberty} to "
        "terminate her pregnancy.", "{W:Liberty} and justice for all, they promised.", "It is a matter of {W:liberty}.",
        "I {W:will} vote against it.", "{W:Will} you stop posting this?", "There is still {W:hope} for the bill.",
        "{W:Hope} so, but I doubt it.", "We say {W:grace} before dinner.", "{W:Grace} periods end tomorrow.",
        "{W:Mark} my words, it will pass.", "The exam {W:mark} was low.", "I got a {W:tan} at the beach.",
        "My {W:will} says nothing about it.", "The Statue of {W:Liberty} stands in New York."],
    "name as a reference": [
        "[QUOTE={P:American};{W:post_id}]no way[/QUOTE] Agreed.", "Originally Posted by {P:Liberty} the bill is fine",
        "{P:Liberty}, you are wrong about this.", "As {P:Will} said, the numbers do not add up.", "I agree with {P:Mark}.",
        "{P:Grace} wrote: read the bill first", "Thanks {P:Hope}, that helps.", "@{P:American} read the bill first",
        "I think {P:Will} is right here.", "ya lor {P:Tan} correct", "{P:Alice} is right about CPF",
        "ask {P:Priya}, she knows", "{P:Mark Lee} posted the link", "replying to {P:Liberty}: no"],
    "number": [
        "The ratio is {W:decimal} overall.", "Growth was {W:decimal} percent in Singapore.",
        "[QUOTE=someone;{W:post_id}] Singapore road tax is too high", "See post #{W:post_id} about Orchard Road.",
        "My order #{W:order} arrived.", "It costs {W:decimal} dollars at the Blk 5 shop, Singapore."],
    "identifier": [
        "call me at {P:phone} lah", "Blk 5 Tampines Street 11, {P:postal}", "email {P:alice.tan88@gmail.com} ok",
        "my IC is {P:S1234567D} can check", "read this {P:www.straitstimes.com/singapore} first"],
}
MARK = re.compile(r"\{([PW]):([^}]*)\}")


def meaning_set(seed: int = 0, variants: int = 3) -> list[tuple[str, str, list[tuple[int, int, bool]]]]:
    """(kind, text, planted spans (start, end, is personal data)): each template `variants` times."""
    rng = random.Random(seed)
    draws = {"phone": lambda: f"{rng.choice('689')}{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
             "postal": lambda: f"{rng.randint(10, 82)}{rng.randint(1000, 9999)}",
             "decimal": lambda: f"{rng.randint(0, 9)}.{rng.choice('3689')}{rng.randint(1000000, 9999999)}",
             "post_id": lambda: str(rng.randint(100000, 999999)), "order": lambda: f"{rng.choice('689')}{rng.randint(1000000, 9999999)}"}
    cases = []
    for kind, templates in MEANING.items():
        for template, _ in ((t, v) for t in templates for v in range(variants)):
            text, spans, end = "", [], 0
            for mark in MARK.finditer(template):
                value = draws[mark.group(2)]() if mark.group(2) in draws else mark.group(2)
                text += template[end:mark.start()]
                spans.append((len(text), len(text) + len(value), mark.group(1) == "P"))
                text += value
                end = mark.end()
            cases.append((kind, text + template[end:], spans))
    return cases


@pytest.fixture(scope="module")
def meaning() -> dict[str, Counter]:
    """Per kind: planted personal data caught / planted, and replacements that hit it / all replacements."""
    names = pseudonyms([{"conversation_id": "c", "author": a} for a in MEANING_AUTHORS])["c"]
    cases = meaning_set()
    found = ConversationAnonymiser(names, Counter()).replacements([text for _, text, _ in cases])
    tally = defaultdict(Counter)
    for (kind, _, spans), replacements in zip(cases, found):
        def overlaps(r, span):
            return r.start < span[1] and span[0] < r.end
        planted = [span for span in spans if span[2]]
        tally[kind]["planted"] += len(planted)
        tally[kind]["caught"] += sum(any(overlaps(r, span) for r in replacements) for span in planted)
        tally[kind]["replacements"] += len(replacements)
        tally[kind]["on personal data"] += sum(any(overlaps(r, span) for span in planted) for r in replacements)
    tally["all"] = sum(tally.values(), Counter())
    print("\n| planted | messages | personal data caught / planted | replacements on personal data / all | precision |")
    print("|---|---|---|---|---|")
    for kind, counts in tally.items():
        messages = sum(k == kind for k, _, _ in cases) if kind != "all" else len(cases)
        precision = counts["on personal data"] / counts["replacements"] if counts["replacements"] else 1.0
        print(f"| {kind} | {messages} | {counts['caught']} / {counts['planted']} | {counts['on personal data']} / "
              f"{counts['replacements']} | {precision:.1%} |")
    return dict(tally)


def test_meaning_set_precision_and_recall(meaning):
    everything = meaning["all"]
    assert everything["replacements"] >= 60 and everything["planted"] >= 50
    assert everything["on personal data"] / everything["replacements"] >= 0.9  # 0.44 before names could be words
    assert everything["caught"] / everything["planted"] >= 0.95
    assert meaning["number"]["replacements"] == 0  # no decimal, quote tag, post or order number is a phone or postcode


@pytest.mark.parametrize("author, text", [
    ("American", "So you are not an American?"),
    ("American", "American Indian creation stories say otherwise."),
    ("Liberty", "a woman's right to privacy included the liberty to terminate her pregnancy"),
])
def test_a_name_that_is_a_word_stays_a_word(author, text):
    assert ConversationAnonymiser({author: "P06", "Alice Tan": "P01"}, Counter())(text) == text


def test_a_name_that_is_a_word_is_replaced_where_it_refers_to_the_person():
    anonymiser = ConversationAnonymiser({"American": "P06", "Liberty": "P11"}, Counter())
    assert anonymiser("[QUOTE=American;123456]so?[/QUOTE] As Liberty said, @American is wrong") == \
        "[QUOTE=P06;123456]so?[/QUOTE] As P11 said, @P06 is wrong"


@pytest.mark.parametrize("text", ["[QUOTE=Bob;123456] Singapore road tax is too high",
                                  "the ratio is 1.66666667 in Singapore", "post #612345 on Orchard Road"])
def test_quote_tags_decimals_and_post_numbers_are_not_phones_or_postcodes(text):
    assert ConversationAnonymiser({"Bob": "P01"}, Counter())(text).endswith(text[text.index(" "):])


# Forum handles made of everyday words (IAC's 4forums.com has "God Fearing Ath", "The Barbarian",
# "Captain America banned"): their words stay words in running text, and the handle goes where it
# points at the person.
HANDLES_OF_WORDS = {"God Fearing Ath": "P01", "The Barbarian": "P02", "Captain America banned": "P03",
                    "Obvious Child": "P04", "Archangel": "P05", "Electrolyte": "P06", "Waxy": "P07"}


@pytest.mark.parametrize("text", [
    "In a debate on whether God exists, God exists is the claim.", "Can God make a rock that He cannot lift?",
    "The law is clear. The Telegraph said so.", "It sells well in North America.",
    "America is a big country.", "Captain Marvel is a film.", "Any obvious child could see it.",
    "An archangel appeared to her.", "The Electrolyte balance matters.", "the barbarian at the gate"])
def test_handle_words_in_running_text_stay_words(text):
    assert ConversationAnonymiser(HANDLES_OF_WORDS, Counter())(text) == text


@pytest.mark.parametrize("text, expected", [
    ("[QUOTE=God Fearing Ath;123456]no[/QUOTE] agreed", "[QUOTE=P01;123456]no[/QUOTE] agreed"),
    ("So, Obvious Child, why do you say that?", "So, P04, why do you say that?"),
    ("As Barbarian said, it fails.", "As P02 said, it fails."),
    ("Thanks Captain, good post.", "Thanks P03, good post."),
    ("Unfortunately, Archangel, I believe it is simple.", "Unfortunately, P05, I believe it is simple."),
    ("While Electrolyte may have come out strongly, I agree.", "While P06 may have come out strongly, I agree."),
    ("That's absurd.\n \n Waxy\n", "That's absurd.\n \n P07\n"),
    ("Waxy, you are wrong.", "P07, you are wrong."),
])
def test_handle_words_are_replaced_where_they_refer_to_the_person(text, expected):
    assert ConversationAnonymiser(HANDLES_OF_WORDS, Counter())(text) == expected


@pytest.mark.parametrize("text", [
    "I am a nice guy....my point stands", "that is poor...it fails", "this...at least", "beliefs....as they are",
    "I agree.It was fine", "So What.live and let live", "he is right...it is NOT in there", "wait..now I see"])
def test_words_joined_by_dots_are_no_urls(text):
    assert ConversationAnonymiser({}, Counter())(text) == text


@pytest.mark.parametrize("url", ["http://bad.my", "www.example.it/page", "senate.gov/~levin/release.cfm?id=1",
                                 "cpf.gov.sg", "Straitstimes.com", "news.bbc.co.uk/1/hi/2640221.stm"])
def test_a_url_has_a_scheme_www_a_path_or_a_known_domain(url):
    assert ConversationAnonymiser({}, Counter())(f"see {url} now") == "see <URL> now"


def test_report_lists_replacements_by_kind_and_the_most_replaced_texts():
    from prep.report import data_lines, most_replaced

    counts, strings = Counter(), Counter()
    ConversationAnonymiser(HANDLES_OF_WORDS, counts, strings).all(
        ["Waxy, you are wrong.\n\nWaxy", "as God Fearing Ath said, God exists", "read http://example.com/x"])
    top = most_replaced(strings)
    assert top == [{"text": "Waxy", "kind": "AUTHOR", "count": 2}, {"text": "God Fearing Ath", "kind": "AUTHOR", "count": 1},
                   {"text": "http://example.com/x", "kind": "URL", "count": 1}]
    lines = "\n".join(data_lines({"anonymisation": {"authors": 7, "pseudonym_map": "m.json", "replaced": dict(counts),
                                                     "most_replaced": top}}))
    assert "replaced: AUTHOR 3, URL 1." in lines and "| Waxy | AUTHOR | 2 |" in lines
