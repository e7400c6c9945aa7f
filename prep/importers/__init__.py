"""Importers: public datasets -> the canonical tables -> the prep.build pipeline, in one command.

Each importer converts its source into messages and stances (`Imported`), writes them with an
import report into the private folder beside --out (`prep.anonymise.private_dir`: the tables
still carry real names), and hands every option it does not know to `prep.build.main`, so the
data is validated, anonymised, split and rendered exactly as any other input. What an importer
leaves out or repairs is listed with source file and row and reaches the prep report.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from core.cli import UserError
from prep import build
from prep.anonymise import private_dir
from prep.tables import Exclusions, write_table

MIXED = ("yes", "no", "exclude")  # a contributor with both favour and against posts


@dataclass
class Imported:
    messages: list[dict]  # canonical rows, in conversation and then thread order
    stances: list[dict]
    exclusions: Exclusions = field(default_factory=Exclusions)
    repairs: Exclusions = field(default_factory=Exclusions)  # kept, but changed (e.g. an imputed time)
    counts: dict = field(default_factory=dict)  # label mapping and source statistics


def contributor_label(post_labels: set[str], favour: str, against: str, mixed: str) -> str | None:
    """Post stances -> did the contributor express the statement: yes if any post is in favour
    and none against, no if none is in favour; both ('mixed') follows `mixed` (None: exclude)."""
    if favour not in post_labels:
        return "no"
    if against not in post_labels:
        return "yes"
    return None if mixed == "exclude" else mixed


def sample_conversations(imported: Imported, per_split: int, seed: int) -> dict:
    """Keep `per_split` conversations of each split the stances name (seeded), drop the rest's rows."""
    by_split: dict[str, set] = {}
    for stance in imported.stances:
        by_split.setdefault(stance.get("split", "all"), set()).add(stance["conversation_id"])
    rng = random.Random(seed)
    kept = {c for ids in by_split.values() for c in rng.sample(sorted(ids), min(per_split, len(ids)))}
    imported.messages = [m for m in imported.messages if m["conversation_id"] in kept]
    imported.stances = [s for s in imported.stances if s["conversation_id"] in kept]
    return {"per_split": per_split, "seed": seed, "conversations_kept": len(kept),
            "conversations_left_out": len(set().union(*by_split.values())) - len(kept)}


def main(name: str, convert, description: str, default_source: Path, argv: list[str] | None = None,
         add_arguments=lambda parser: None) -> dict:
    """Shared command line: import with `convert(args) -> Imported`, then prep.build on the tables."""
    parser = argparse.ArgumentParser(description=description, epilog="All other options go to prep.build.", allow_abbrev=False)
    parser.add_argument("--source", type=Path, default=default_source)
    parser.add_argument("--out", type=Path, required=True, help="prepared data folder (as prep.build's --out)")
    parser.add_argument("--mixed", choices=MIXED, default="yes",
                        help="label of a contributor with posts both for and against (default: yes, they did express it)")
    parser.add_argument("--sample-conversations", type=int, metavar="N",
                        help="keep a seeded sample of N conversations per given split (all, if the source has none), "
                             "for quick runs; the sample is recorded in the import report")
    parser.add_argument("--sample-seed", type=int, default=0)
    add_arguments(parser)
    args, build_args = parser.parse_known_args(argv)
    if not args.source.exists():
        raise UserError(f"{args.source}: not found (--source: the dataset as downloaded)")
    imported = convert(args)
    if args.sample_conversations:
        imported.counts["sample"] = sample_conversations(imported, args.sample_conversations, args.sample_seed)
    folder = private_dir(args.out)
    write_table(folder / "messages.jsonl", imported.messages)
    write_table(folder / "stances.jsonl", imported.stances)
    report = {"importer": name, "source": str(args.source),
              "settings": {k: str(v) for k, v in sorted(vars(args).items()) if k not in ("source", "out")},
              "counts": imported.counts, "exclusions": imported.exclusions.items, "repairs": imported.repairs.items}
    (folder / "import_report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return build.main([*build_args, "--messages", str(folder / "messages.jsonl"), "--stances", str(folder / "stances.jsonl"),
                       "--import-report", str(folder / "import_report.json"), "--out", str(args.out)])
