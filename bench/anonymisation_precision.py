"""How much of what anonymisation replaces in real forum text is personal data (precision, judged).

    python -m bench.anonymisation_precision                # measure the current code on IAC dev, score every judged sample
    python -m bench.anonymisation_precision sample --label after --seed 2 --size 320
    -> bench/results/anonymisation_precision.json and .md; a sample goes to bench/fixtures/anonymisation_<label>.json

The data: IAC v1 (4forums.com) development topics, `../shared/data/iac-4forums-dev/` (207 debates,
26 million characters, authors' handles often ordinary words). Every replacement prep makes
there (message texts and statements, each conversation anonymised as `prep.anonymise` does) is
one item of the population. `sample` draws a seeded random sample of them, each with 50
characters either side, into a fixture whose verdicts are then judged by hand by the rule in
`bench/fixtures/anonymisation_rule.md` ("personal": personal data, or an identifier of the kind
the replacement says, used as one; "not": a word used as a word, or no identifier at all).

The default command, for the code as it is:
- precision of every judged fixture: personal / judged, with its 95% Wilson and Clopper-Pearson
  intervals (statsmodels), and each sampled item checked against the current code (still
  replaced or not: the judged "personal" items still replaced are recall on real text);
- on the whole IAC run: replacements by kind, the 20 most replaced texts, and the share of
  "God", "The" and of ellipsis-joined words ("guy....my") replaced; CPU seconds of the pass.
Results are kept per `--label` (default "after"), so a run of the previous code under
`--label before` stays beside the current one; each run names what made it (`core.manifest`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

from core.manifest import manifest
from prep.anonymise import ConversationAnonymiser, pseudonyms
from prep.report import most_replaced
from prep.validate import load_tables

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "iac-4forums-dev"
FIXTURES = ROOT / "bench" / "fixtures"
RESULTS = ROOT / "bench" / "results"
SOURCE = ("IAC v1 (4forums.com), development topics: ../shared/data/iac-4forums-dev (upstream: "
          "sl-m-lab/Internet-Argument-Corpus; research use, cite Walker et al., LREC 2012 and Abbott et al., "
          "LREC 2016). Each item is an excerpt of 50 characters either side of one replacement.")
CONTEXT = 50
ANONYMISER = ("prep/anonymise.py", "prep/names.py", "prep/identifiers.py")  # the code a sample is drawn from
WATCHED = {  # name -> (pattern, the kinds of replacement that count: None for any)
    "God": (re.compile(r"(?<![A-Za-z0-9_])God(?![A-Za-z0-9_])"), None),
    "The": (re.compile(r"(?<![A-Za-z0-9_])The(?![A-Za-z0-9_])"), None),
    # as a URL: a handle joined to the next word ("Zardoz...a diety") is still the handle
    "ellipsis-joined words": (re.compile(r"[A-Za-z]+\.{2,}[A-Za-z]+"), ("URL",))}


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", *ANONYMISER], cwd=ROOT, capture_output=True, text=True).stdout
    return head + ("+changes" if dirty.strip() else "")


def texts_by_conversation(data: Path) -> tuple[dict[str, list[tuple[str, str]]], dict[str, dict[str, str]]]:
    """conversation -> [(message id or "statement:<id>", text)], the texts prep anonymises; the pseudonyms."""
    tables = load_tables(data / "messages.csv", data / "stances.csv")
    texts = defaultdict(list)
    for message in tables.messages:
        texts[message["conversation_id"]].append((message["message_id"], message["text"]))
    statements = {(s["conversation_id"], s["statement_id"]): s["statement"] for s in tables.stances}
    for (conversation_id, statement_id), statement in statements.items():
        texts[conversation_id].append((f"statement:{statement_id}", statement))
    return dict(texts), pseudonyms(tables.messages)


def replacements(data: Path) -> tuple[list[dict], dict[tuple[str, str], str], float]:
    """Every replacement on the data set, with its context; (conversation, text id) -> text; CPU seconds of the pass."""
    texts, names = texts_by_conversation(data)
    items, by_id = [], {}
    started = time.process_time()
    found = {c: ConversationAnonymiser(names[c], Counter()).replacements([t for _, t in texts[c]]) for c in texts}
    seconds = time.process_time() - started
    for conversation_id, conversation in texts.items():
        for (text_id, text), replaced in zip(conversation, found[conversation_id]):
            by_id[(conversation_id, text_id)] = text
            items += [{"conversation_id": conversation_id, "text_id": text_id, "start": r.start, "end": r.end,
                       "kind": r.entity, "replaced": text[r.start:r.end],
                       "before": text[max(0, r.start - CONTEXT):r.start], "after": text[r.end:r.end + CONTEXT]}
                      for r in replaced]
    return items, by_id, seconds


def watched_shares(items: list[dict], texts: dict) -> dict:
    """How many occurrences of each watched form there are, and how many a replacement covers."""
    spans = defaultdict(list)
    for item in items:
        spans[(item["conversation_id"], item["text_id"])].append((item["start"], item["end"], item["kind"]))
    shares = {}
    for name, (pattern, kinds) in WATCHED.items():
        total = replaced = 0
        for key, text in texts.items():
            for match in pattern.finditer(text):
                total += 1
                replaced += any(s < match.end() and match.start() < e and (kinds is None or kind in kinds)
                                for s, e, kind in spans.get(key, ()))
        shares[name] = {"occurrences": total, "replaced": replaced, "share": round(replaced / total, 5) if total else 0}
    return shares


def write_fixture(path: Path, header: dict, items: list[dict]) -> None:
    """One item a line, so that a verdict changes one line."""
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    path.write_text(json.dumps(header, indent=1, ensure_ascii=False)[:-2] + ',\n "items": [\n  '
                    + ",\n  ".join(lines) + "\n ]\n}\n", encoding="utf-8")


def sample(label: str, seed: int, size: int, data: Path) -> Path:
    items, _, _ = replacements(data)
    chosen = sorted(random.Random(seed).sample(range(len(items)), size))
    path = FIXTURES / f"anonymisation_{label}.json"
    header = {"source": SOURCE, "rule": "bench/fixtures/anonymisation_rule.md", "code": commit(), "seed": seed,
              "population": len(items), "size": size}
    write_fixture(path, header, [{"id": i, **items[i], "verdict": None} for i in chosen])
    return path


def precision(verdicts: list[str]) -> dict:
    from statsmodels.stats.proportion import proportion_confint

    judged = [v for v in verdicts if v in ("personal", "not")]
    hit, n = judged.count("personal"), len(judged)
    wilson, exact = (proportion_confint(hit, n, alpha=0.05, method=m) if n else (0, 0) for m in ("wilson", "beta"))
    return {"judged": n, "personal": hit, "unjudged": len(verdicts) - n, "precision": round(hit / n, 4) if n else None,
            "wilson_95": [round(x, 4) for x in wilson], "clopper_pearson_95": [round(x, 4) for x in exact]}


def score_fixture(path: Path, current: set) -> dict:
    """Precision as judged, and how the current code treats the same items."""
    fixture = json.loads(path.read_text(encoding="utf-8"))
    items = fixture["items"]
    still = Counter()
    for item in items:
        key = (item["conversation_id"], item["text_id"])
        kept = any(s < item["end"] and item["start"] < e for s, e in current.get(key, ()))
        still[(item["verdict"], kept)] += 1
    return {"code": fixture["code"], "seed": fixture["seed"], "population": fixture["population"],
            **precision([item["verdict"] for item in items]),
            "not_by_kind": dict(Counter(i["kind"] for i in items if i["verdict"] == "not")),
            "current_code": {"personal_still_replaced": still[("personal", True)],
                             "personal_no_longer_replaced": still[("personal", False)],
                             "not_still_replaced": still[("not", True)], "not_no_longer_replaced": still[("not", False)]}}


def measure(label: str, data: Path) -> dict:
    items, texts, seconds = replacements(data)
    strings = Counter((item["kind"], item["replaced"]) for item in items)
    current = defaultdict(list)
    for item in items:
        current[(item["conversation_id"], item["text_id"])].append((item["start"], item["end"]))
    run = {"code": commit(), "replacements": len(items), "by_kind": dict(sorted(Counter(i["kind"] for i in items).items())),
           "most_replaced": most_replaced(strings), "watched": watched_shares(items, texts),
           "anonymise_cpu_seconds": round(seconds, 2),
           "manifest": manifest({"label": label}, data=[data / "messages.csv", data / "stances.csv"])}
    paths = sorted(FIXTURES.glob("anonymisation_*.json"), key=lambda p: (p.stem != "anonymisation_before", p.stem))
    fixtures = {p.stem.removeprefix("anonymisation_"): score_fixture(p, current) for p in paths}
    results_path = RESULTS / "anonymisation_precision.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"runs": {}}
    results["runs"][label] = run
    results["samples"] = fixtures
    results_path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / "anonymisation_precision.md").write_text(markdown(results))
    return results


def markdown(results: dict) -> str:
    lines = ["# Anonymisation precision on real forum text (IAC dev topics)", "",
             "`python -m bench.anonymisation_precision` (data: IAC v1 4forums.com development topics, 207 debates; "
             "rule: `bench/fixtures/anonymisation_rule.md`).", "",
             "## Precision, judged", "",
             "| sample | drawn from code | replacements in population | judged | personal | precision | 95% Wilson | "
             "95% Clopper-Pearson | 'not' by kind |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in results["samples"].items():
        lines.append(f"| {name} | `{s['code'][:12]}` | {s['population']:,} | {s['judged']} | {s['personal']} | "
                     f"{s['precision']:.1%} | {s['wilson_95'][0]:.1%} - {s['wilson_95'][1]:.1%} | "
                     f"{s['clopper_pearson_95'][0]:.1%} - {s['clopper_pearson_95'][1]:.1%} | "
                     + (", ".join(f"{k} {v}" for k, v in s["not_by_kind"].items()) or "-") + " |")
    lines += ["", "The same sampled items under the code of the latest run (judged personal / not, still replaced or not):", "",
              "| sample | personal, still replaced | personal, no longer | not, still replaced | not, no longer |",
              "|---|---|---|---|---|"]
    for name, s in results["samples"].items():
        c = s["current_code"]
        lines.append(f"| {name} | {c['personal_still_replaced']} | {c['personal_no_longer_replaced']} | "
                     f"{c['not_still_replaced']} | {c['not_no_longer_replaced']} |")
    runs = results["runs"]
    lines += ["", "## The whole IAC run", "", "| | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]
    lines.append("| code | " + " | ".join(f"`{r['code'][:12]}`" for r in runs.values()) + " |")
    lines.append("| replacements | " + " | ".join(f"{r['replacements']:,}" for r in runs.values()) + " |")
    for kind in sorted({k for r in runs.values() for k in r["by_kind"]}):
        lines.append(f"| {kind} | " + " | ".join(f"{r['by_kind'].get(kind, 0):,}" for r in runs.values()) + " |")
    for name in WATCHED:
        lines.append(f"| \"{name}\" replaced | " + " | ".join(
            f"{r['watched'][name]['replaced']:,} of {r['watched'][name]['occurrences']:,} ({r['watched'][name]['share']:.2%})"
            for r in runs.values()) + " |")
    lines.append("| anonymise CPU s (one process) | " + " | ".join(str(r["anonymise_cpu_seconds"]) for r in runs.values()) + " |")
    lines += ["", "Most replaced texts:", "", "| rank | " + " | ".join(runs) + " |", "|---|" + "---|" * len(runs)]
    for rank in range(max(len(r["most_replaced"]) for r in runs.values())):
        cells = [(lambda m: f"{m['text']} ({m['kind']}) x{m['count']}")(r["most_replaced"][rank])
                 if rank < len(r["most_replaced"]) else "" for r in runs.values()]
        lines.append(f"| {rank + 1} | " + " | ".join(c.replace("|", "&#124;") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=("measure", "sample"), default="measure")
    parser.add_argument("--label", default="after", help="the run's name in the results; the fixture's for sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    if args.command == "sample":
        print(sample(args.label, args.seed, args.size, args.data))
    else:
        print(markdown(measure(args.label, args.data)))


if __name__ == "__main__":
    main()
