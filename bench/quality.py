"""Quality on real conversations: every approach on RumourEval 2019, CSD and IAC, in one table.

    python -m bench.quality            # writes bench/results/quality.{md,json} (committed)
    python -m bench.quality --quick    # a small seeded sample in minutes (what the tests run)
    python -m bench.quality --datasets iac iac-new-topic   # one dataset's section; the others stay

Per dataset: import and prepare it (`prep.importers.*`: RumourEval's official splits, CSD split
by thread, seeded; IAC's long debates by `bench.iac`: `iac` split by conversation within each
topic, `iac-new-topic` tested on topics it was not trained on), then train and score each run on
the same test pairs, with every P(yes) threshold tuned on dev and frozen (`eval.score
--dev-predictions`), breakdowns by conversation length and by the contributor's message count:

    always-yes          the floor: F1 = 2p / (1 + p) for a yes-rate p
    statement-prior     the second floor: P(yes) = the statement's yes-rate in train, threshold on dev;
                        a run that does not beat it learned the statements, not the contributors
    contributor-history the third, reading nothing either: the contributor's own train yes-rate on the
                        statement (in other conversations, found through prep's private pseudonym map),
                        shrunk to the statement's by one pseudo-pair; the statement's where train never
                        saw them. What a team that knows its recurring contributors has before reading
    smollm2-zero-shot   SmolLM2-135M-Instruct, P(yes) by label log-likelihood, on snippets
    smollm2-lora        the same after `axolotl train axolotl_configs/smollm2_quality.yml` on a
                        seeded sample of train snippets, half "yes", half "no"
    smollm2-*-focus     the two above on focus contexts (one row per contributor, 512 tokens; on IAC
                        2,048 tokens); on `iac` -512 and -8192 too: the context-budget curve, the same
                        sampled pairs read at another budget (a pair that does not fit is counted out)
    cross-encoder       MiniLM cross-encoder on snippets, "yes" weighted (`encoders/configs/cross_encoder.yml`)
    bi-encoder          MiniLM embeddings + logistic regression on focus contexts
    bi-encoder-messages the same on every message of the contributor (with what it replies to),
                        pooled (`encoders/configs/bi_encoder_messages.yml`); -1 and -4: at most
                        1 or 4 windows (the 16 longest messages by default): the window curve
    tfidf-messages      the lexical reference: TF-IDF of every message of the contributor, a logistic
                        regression per statement (`encoders/configs/tfidf_messages.yml`)
    *-debate            the run above it followed by the debate stage (`encoders.debate`, fitted on
                        dev): the contributor against the debate's level, and against whom they reply to
    panel (ceiling)     every annotator vote on the test pairs against the majority of the others

Snippet runs answer per message and aggregate any-yes per contributor. The LLM scores about
0.75 s per snippet on 2 quiet CPU cores, so its rows score a seeded sample of dev and test pairs,
stratified by label (--dev-pairs, --test-pairs; 0 = all), the same sample for every LLM row, the
pairs outside it counted in the results. The floors, encoders and the panel score every pair (an
encoder scores a pair in well under a second), and each is scored on the LLM rows' sample as well
(at its own dev threshold), in a second table of the same pairs. Rows a dataset does not measure
are listed with why.

A finished run is reused only while its manifest (`core.manifest`: the run's definition and
config files, the prepared data it read, the seed, the package versions) matches what it would be
now; otherwise the run is redone, and the field that differs is printed (`--no-rerun`: stop and
name them instead). Within a run, finished steps are skipped: a run stopped part-way resumes
where it stopped while the manifest it wrote before its first step still matches. Each row names
the commit it was made at and records its manifest's compared fields, so a clone without the runs
folder (runs/ is not committed) keeps every committed row that still holds and trains only what is
new or changed: `--runs NAME` adds one row to a table that cost hours of CPU, without redoing the
others.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import iac
from bench.quality_table import NEWCOMERS, ON_SAMPLE, result, write_results
from core.cli import UserError, run_cli
from core.jsonl import read_jsonl, write_jsonl
from core.manifest import differences, git_state, manifest
from core.runs import prediction_row
from prep.anonymise import private_dir
from prep.panel import human_level

ROOT = Path(__file__).resolve().parents[1]
MODEL = "models/smollm2-135m-instruct"
LORA_CONFIG = ROOT / "axolotl_configs" / "smollm2_quality.yml"
LORA_YES_SHARE = 0.5  # of the LoRA's train snippets (the split's own share is 17-22%)
SHORT = ("rumoureval", "csd")
DATASETS = {"rumoureval": "prep.importers.rumoureval", "csd": "prep.importers.csd", **dict.fromkeys(iac.DATASETS)}
PREPS = {  # prepared-data variant -> prep.build options
    "snippets": ["--strategy", "snippets", "--sequence-len", "384", "--snippet-context-tokens", "128"],
    "focus": ["--strategy", "focus", "--sequence-len", "512"],
}
IAC_PREPS = {"focus": ["--strategy", "focus", "--sequence-len", "2048"],  # rows for the questions; 10 of 7,070 pairs over
             **{f"focus-{n}": ["--strategy", "focus", "--sequence-len", str(n)] for n in (512, 8192)}}
CURVE_PREPS = ("focus-512", "focus-8192")  # the context-budget curve: cut to the sample's pairs, never choosing them
STEP_RECORDS = ("timing.json", "stages.json")  # in a run's folder: what it has done (timing.json: all of it)
EMBEDDINGS = "embeddings.sqlite"  # in the data folder: window embeddings shared by every run and dataset
SNIPPETS_ON_IAC = ("not measured on IAC: snippets are one row per message (23,706 in all), at the measured 0.75 s "
                   "(SmolLM2) or 0.085 s (cross-encoder) a snippet hours of CPU to score dev and test, training apart; "
                   "the focus rows and the readers of every message (TF-IDF, the message bi-encoder) stand in")
NOT_ON_IAC = {"smollm2-zero-shot": SNIPPETS_ON_IAC, "smollm2-lora": SNIPPETS_ON_IAC, "cross-encoder": SNIPPETS_ON_IAC,
              "smollm2-lora-focus": "not measured on the new topics: on `iac` its 48 steps at 2,048 tokens took 41 "
                                    "minutes and its scoring 24 (2 shared cores), for MCC 0.177 [0.056, 0.298] on its "
                                    "sample, under the statement prior on the same pairs (0.213 [0.053, 0.364]); a second "
                                    "such run did not fit beside the others: smollm2-lora-focus-512 stands in (7 minutes "
                                    "of training alone)"}
CURVE_ONLY = ("the context-budget curve (512 and 8,192 focus tokens beside the 2,048-token rows) is measured on "
              "`iac` alone: on the short threads a focus context fits in 512 tokens, on the new topics SmolLM2 zero-shot "
              "ranks below chance at 2,048")
IAC_ONLY = ("measured on IAC only: a reader of every message of a contributor, made for long debates; on these "
            "short threads a contributor writes one or two messages, which the snippet and focus encoders read whole")
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # axolotl calls accelerate
       "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "AXOLOTL_DO_NOT_TRACK": "1",
       "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1",
       "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))}  # else accelerate sets 1


@dataclass(frozen=True)
class Run:
    name: str
    prep: str
    kind: str  # constant | prior | history | llm | encoder
    config: str | None = None  # encoder config, or "lora" for the fine-tuned LLM
    quick: tuple[str, ...] = field(default=())  # encoders.train --set overrides for --quick
    datasets: tuple[str, ...] = tuple(DATASETS)  # where it is measured
    overrides: tuple[str, ...] = field(default=())  # key=value, always: encoders.train --set, or the LoRA recipe's keys

    @property
    def sampled(self) -> bool:
        """The LLM rows score a seeded sample of dev and test pairs (--dev-pairs, --test-pairs) where a
        dataset's prep makes many rows a pair (snippets); the floors and encoders score every pair."""
        return self.kind == "llm"


MESSAGES = "encoders/configs/bi_encoder_messages.yml"
TFIDF = "encoders/configs/tfidf_messages.yml"
RUNS = (
    Run("always-yes", "focus", "constant"),
    Run("statement-prior", "focus", "prior"),
    Run("contributor-history", "focus", "history"),
    Run("smollm2-zero-shot", "snippets", "llm", datasets=SHORT),
    Run("smollm2-lora", "snippets", "llm", "lora", datasets=SHORT),
    Run("smollm2-zero-shot-focus", "focus", "llm"),
    Run("smollm2-lora-focus", "focus", "llm", "lora", datasets=(*SHORT, "iac")),
    Run("smollm2-zero-shot-focus-512", "focus-512", "llm", datasets=("iac",)),  # the context-budget curve
    Run("smollm2-lora-focus-512", "focus-512", "llm", "lora", datasets=tuple(iac.DATASETS)),  # the new topics too: cheap
    Run("smollm2-zero-shot-focus-8192", "focus-8192", "llm", datasets=("iac",)),
    Run("smollm2-lora-focus-8192", "focus-8192", "llm", "lora", datasets=("iac",), overrides=(
        "micro_batch_size=1", "gradient_accumulation_steps=4",  # the same 4 contexts a step, one at a time
        "gradient_checkpointing=true", "max_steps=8")),  # within 24 GB; 32 contexts of ~4,500 tokens at 6-12 min a step: ~an hour
    Run("cross-encoder", "snippets", "encoder", "encoders/configs/cross_encoder.yml", ("epochs=1",), datasets=SHORT),
    *(Run(f"tfidf-messages-{n}", "focus", "encoder", TFIDF, datasets=tuple(iac.DATASETS), overrides=(f"max_windows={n}",))
      for n in (1, 4, 16)),  # the window curve of the cheapest reader; tfidf-messages reads every message
    Run("tfidf-messages", "focus", "encoder", TFIDF, datasets=tuple(iac.DATASETS)),
    Run("tfidf-messages-debate", "focus", "encoder", TFIDF, datasets=tuple(iac.DATASETS), overrides=("debate=true",)),
    Run("bi-encoder-messages-1", "focus", "encoder", MESSAGES, datasets=tuple(iac.DATASETS), overrides=("max_windows=1",)),
    Run("bi-encoder-messages-4", "focus", "encoder", MESSAGES, datasets=tuple(iac.DATASETS), overrides=("max_windows=4",)),
    Run("bi-encoder-messages", "focus", "encoder", MESSAGES, ("max_windows=2",), datasets=tuple(iac.DATASETS)),
    Run("bi-encoder-messages-debate", "focus", "encoder", MESSAGES, ("max_windows=2",), datasets=tuple(iac.DATASETS),
        overrides=("debate=true",)),
    Run("bi-encoder", "focus", "encoder", "encoders/configs/bi_encoder.yml"),
)

RUN_BY_NAME = {run.name: run for run in RUNS}


def call(args: list[str], log: Path) -> float:
    """Run one stage as its own process (what a user would type); its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "a", encoding="utf-8") as handle:
        handle.write("$ " + " ".join(args) + "\n")
        handle.flush()
        done = subprocess.run(args, cwd=ROOT, env=ENV, stdout=handle, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} ... failed (exit {done.returncode}); see {log}")
    return time.perf_counter() - started


def python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def prep_options(dataset: str, prep: str) -> list[str]:
    """prep.build's options for a dataset's prep variant."""
    return (IAC_PREPS if dataset in iac.DATASETS else PREPS)[prep]


def sequence_len(dataset: str, prep: str) -> int:
    """The token budget prep fits every row of a variant into."""
    options = prep_options(dataset, prep)
    return int(options[options.index("--sequence-len") + 1])


def prepared_folder(dataset: str, prep: str, data_root: Path) -> Path:
    """Where prep.build writes a dataset's variant (IAC: one prep of every debate, split two ways)."""
    return data_root / (f"iac-all-{prep}" if dataset in iac.DATASETS else f"{dataset}-{prep}")


def prepare(dataset: str, prep: str, data_root: Path, quick: bool, seed: int) -> Path:
    out = data_root / f"{dataset}-{prep}"
    if dataset in iac.DATASETS:
        prepared = prepared_folder(dataset, prep, data_root)
        if not (prepared / "prep_report.json").exists():
            messages, stances = iac.one_split_tables(ROOT / iac.SOURCE, data_root / "iac-tables", 3 if quick else None)
            call(python("prep.build", "--messages", str(messages), "--stances", str(stances), "--tokenizer", MODEL,
                        *prep_options(dataset, prep), "--over-budget", "exclude", "--out", str(prepared)),
                 data_root / "logs" / f"iac-all-{prep}.log")
        return iac.split_rows(prepared, out, dataset, seed)
    if not (out / "prep_report.json").exists():
        sample = ["--sample-conversations", "6" if dataset == "rumoureval" else "24"] if quick else []
        call(python(DATASETS[dataset], "--out", str(out), "--tokenizer", MODEL, *prep_options(dataset, prep),
                    "--over-budget", "exclude", *sample), data_root / "logs" / f"{dataset}-{prep}.log")
    return out


def pair_key(row: dict) -> tuple[str, str, str]:
    meta = row["meta"]
    return meta["conversation_id"], meta["statement_id"], meta["contributor"]


def sample(labels: dict, size: int, seed: int | None, yes_share: float | None = None) -> set:
    """A seeded sample of `size` keys (0: every key), stratified by label: in the set's own
    proportion by default, so a rare "yes" is neither over- nor under-drawn (2 of 80 would leave dev
    nothing to tune a threshold on), or with `yes_share` of "yes" (as many as there are at most).
    The bootstrap still resamples conversations. Seed None takes pair keys in sorted order, round-
    robin over conversations (--quick: the plumbing, not the numbers)."""
    if not size or size >= len(labels):
        return set(labels)
    strata = {label: sorted(key for key, value in labels.items() if value == label) for label in ("yes", "no")}
    for keys in strata.values():
        if seed is None:  # round-robin over conversations, so that even a few pairs span several
            seen = Counter(key[0] for key in keys)
            order = {}
            for key in reversed(keys):
                seen[key[0]] -= 1
                order[key] = (seen[key[0]], key)
            keys.sort(key=order.get)
        else:
            random.Random(seed).shuffle(keys)
    share = len(strata["yes"]) / len(labels) if yes_share is None else yes_share
    yes = min(round(size * share), len(strata["yes"]))
    return set(strata["yes"][:yes] + strata["no"][:size - yes])


def evaluation_sets(prepared: dict[str, Path], sample_pairs: dict[str, int], seed: int | None,
                    name: str, curve: dict[str, Path] | None = None) -> tuple[dict[str, Path], dict]:
    """Dev and test restricted to the pairs every prep variant kept, then to a seeded sample (0:
    every pair); train stays whole. The `curve` variants (another context budget) are cut to the
    same pairs without choosing them: a pair one cannot fit is counted, not replaced. Returns a data
    folder `name` per variant and the counts."""
    counts, curve = {}, curve or {}
    variants = {**prepared, **curve}
    folders = {prep: folder / name for prep, folder in variants.items()}
    for split in ("dev", "test"):
        rows = {prep: read_jsonl(folder / f"{split}.jsonl") for prep, folder in variants.items()}
        labels = {pair_key(r): r["meta"]["label"] for prep in prepared for r in rows[prep]}
        per_prep = {prep: {pair_key(r) for r in prep_rows} for prep, prep_rows in rows.items()}
        common = set.intersection(*(per_prep[prep] for prep in prepared))
        kept = sample({key: labels[key] for key in common}, sample_pairs[split], seed)
        counts[split] = {"conversations": len({key[0] for key in kept}), "pairs": len(kept),
                         "yes": sum(labels[key] == "yes" for key in kept),
                         "left_out_not_in_every_prep": {p: len(per_prep[p] - common) for p in prepared},
                         "left_out_by_sample": len(common - kept),
                         **({"over_budget": {p: len(kept - per_prep[p]) for p in curve}} if curve else {})}
        for prep, prep_rows in rows.items():
            write_jsonl(folders[prep] / f"{split}.jsonl", [r for r in prep_rows if pair_key(r) in kept])
    for prep, folder in variants.items():
        for name in ("train.jsonl", "tables"):
            if not (folders[prep] / name).is_symlink():
                (folders[prep] / name).symlink_to(folder.resolve() / name)
    return folders, counts


def panel_ceiling(folder: Path) -> dict | None:
    """The panel's level on the test pairs, by the estimator that applies (`prep.panel.human_level`)."""
    stances = read_jsonl(folder / "tables" / "stances.jsonl")
    annotators = sorted({k for s in stances for k in s if k.startswith("annotator_")})
    if len(annotators) < 3:
        return None
    test = {pair_key(r) for r in read_jsonl(folder / "test.jsonl")}
    level = human_level([s for s in stances if (s["conversation_id"], s["statement_id"], s["contributor"]) in test],
                        annotators)
    coverage = "columns are not one person each: a crowd" if level["estimator"] == "pooled" else "a fixed panel"
    return {**level, "reason": coverage}


def lora_config(dataset: str, data: Path, run_dir: Path, quick: bool, seed: int, run: Run) -> Path:
    """The committed LoRA recipe with this dataset's paths, the prep variant's sequence_len and the run's overrides,
    trained on a seeded sample of the train rows (snippets, or focus contexts), half "yes" and half
    "no", as many as its steps take (2 steps with --quick). Drawn from the whole split in its own
    proportion, 48 steps would hold 33 to 42 "yes" snippets (17-22%), and the model learned to
    answer "no" whatever it read."""
    config = yaml.safe_load(LORA_CONFIG.read_text(encoding="utf-8"))
    for key, value in (item.split("=", 1) for item in run.overrides):
        config[key] = yaml.safe_load(value)
    config["max_steps"] = 2 if quick else config["max_steps"]
    size = config["max_steps"] * config["micro_batch_size"] * config["gradient_accumulation_steps"]
    rows = read_jsonl(data / "train.jsonl")
    kept = sample({i: row["meta"]["label"] for i, row in enumerate(rows)}, size, seed, yes_share=LORA_YES_SHARE)
    write_jsonl(run_dir / "train.jsonl", [row for i, row in enumerate(rows) if i in kept])
    config["datasets"][0]["path"] = str(run_dir / "train.jsonl")
    config["sequence_len"] = sequence_len(dataset, run.prep)
    config["dataset_prepared_path"] = str(run_dir / "axolotl_data")
    config["output_dir"] = str(run_dir / "adapter")
    path = run_dir / "axolotl.yml"
    path.write_text(f"# {LORA_CONFIG.relative_to(ROOT)} with this dataset's paths and sequence_len ({run.prep}), "
                    f"{', '.join(run.overrides) or 'no overrides'}, on a "
                    f"{LORA_YES_SHARE:.0%} 'yes' sample of its train rows (run_dir/train.jsonl), written by bench.quality\n"
                    + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_constant(data: Path, run_dir: Path) -> dict:
    """Always 'yes': the floor any model must beat."""
    predictions = [prediction_row(r["meta"], "constant", "yes") for r in read_jsonl(data / "test.jsonl")]
    write_jsonl(run_dir / "predictions.jsonl", predictions)
    return {"train_seconds": 0.0, "score_seconds": 0.0}


def run_prior(data: Path, run_dir: Path, pseudonyms: Path | None = None) -> dict:
    """P(yes) = the statement's yes-rate among the train pairs; eval tunes the threshold on dev.
    With `pseudonyms` (prep's private map, conversation -> handle -> pseudonym), the contributor's
    own yes-rate on the statement in train, shrunk to the statement's by one pseudo-pair: (yes +
    rate) / (pairs + 1)."""
    seen = {}
    for row in read_jsonl(data / "train.jsonl"):
        seen.setdefault(row["meta"]["statement_id"], []).append(row["meta"]["label"] == "yes")
    rates = {statement: sum(labels) / len(labels) for statement, labels in seen.items()}
    overall = sum(map(sum, seen.values())) / sum(map(len, seen.values()))  # a statement train never saw
    seen_before = labels_seen_before(data, pseudonyms) if pseudonyms else lambda meta: []

    def answer(meta: dict) -> float:
        rate, own = rates.get(meta["statement_id"], overall), seen_before(meta)
        return (sum(own) + rate) / (len(own) + 1)

    counted = {}
    for split, output in (("dev", "dev_predictions.jsonl"), ("test", "predictions.jsonl")):
        rows = read_jsonl(data / f"{split}.jsonl")
        p_yes = [answer(r["meta"]) for r in rows]
        counted[split] = {"pairs": len(rows), "seen_before": sum(bool(seen_before(r["meta"])) for r in rows)}
        write_jsonl(run_dir / output, [prediction_row(r["meta"], "classifier", "yes" if p >= 0.5 else "no", p)
                                       for r, p in zip(rows, p_yes)])
    if pseudonyms:  # how many pairs the contributor's history answered (the rest fall back to the statement's rate)
        (run_dir / "run.json").write_text(json.dumps({"history": counted}, indent=1) + "\n", encoding="utf-8")
    return {"train_seconds": 0.0, "score_seconds": 0.0}


def labels_seen_before(data: Path, pseudonyms: Path) -> Callable[[dict], list[bool]]:
    """A pair's meta -> the panel's train labels of the same person on the same statement, in other
    conversations. Pseudonyms are per conversation, so only prep's private map finds a person again."""
    if not pseudonyms.is_file():
        raise UserError(f"{pseudonyms}: missing; a contributor's record is found through prep's private pseudonym map "
                        "(prep.build writes it to OUT.private/ unless --pseudonym-map sends it elsewhere)")
    handle = {(conversation, pseudonym): name for conversation, names in
              json.loads(pseudonyms.read_text(encoding="utf-8")).items() for name, pseudonym in names.items()}
    history = {}
    for row in read_jsonl(data / "train.jsonl"):
        meta = row["meta"]
        history.setdefault((meta["statement_id"], handle[meta["conversation_id"], meta["contributor"]]), []).append(
            meta["label"] == "yes")
    return lambda meta: history.get((meta["statement_id"], handle[meta["conversation_id"], meta["contributor"]]), [])


def newcomer_pairs(data: Path, pseudonyms: Path) -> set | None:
    """The test pairs whose contributor train never labelled on the statement: where a run's answer
    cannot be the person's record. None when that is every test pair or none."""
    seen_before = labels_seen_before(data, pseudonyms)
    rows = read_jsonl(data / "test.jsonl")
    keys = {pair_key(row) for row in rows if not seen_before(row["meta"])}
    return keys if 0 < len(keys) < len(rows) else None


def stage(run_dir: Path, name: str, output: Path, commands: list[list[str]]) -> float:
    """Run a stage's commands unless its output is there from an earlier run; its wall seconds."""
    record = run_dir / "stages.json"
    seconds = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    if name not in seconds or not output.exists():
        seconds[name] = sum(call(command, run_dir / "log.txt") for command in commands)
        record.write_text(json.dumps(seconds, indent=1) + "\n", encoding="utf-8")
    return seconds[name]


def run_llm(run: Run, dataset: str, data: Path, run_dir: Path, quick: bool, seed: int) -> dict:
    timing, adapter = {"train_seconds": 0.0}, []
    if run.config == "lora":
        config = str(lora_config(dataset, data, run_dir, quick, seed, run))
        axolotl = str(Path(sys.executable).parent / "axolotl")
        timing["train_seconds"] = stage(run_dir, "train", run_dir / "adapter" / "adapter_config.json",
                                        [[axolotl, "preprocess", config], [axolotl, "train", config]])
        adapter = ["--adapter", str(run_dir / "adapter")]
    for split, output in (("dev", "dev_predictions.jsonl"), ("test", "predictions.jsonl")):
        timing["score_seconds"] = stage(run_dir, f"predict_{split}", run_dir / output, [python(
            "eval.predict", "--model", MODEL, *adapter, "--data", str(data / f"{split}.jsonl"), "--out", str(run_dir / output))])
    return timing  # score_seconds: the test split's


def run_encoder(run: Run, data: Path, run_dir: Path, quick: bool) -> dict:
    cache = ["embedding_cache=" + str(data.parent.parent / EMBEDDINGS)] if run.config == MESSAGES else []
    overrides = [arg for item in (*run.overrides, *(run.quick if quick else ()), *cache) for arg in ("--set", item)]
    stage(run_dir, "train_and_predict", run_dir / "predictions.jsonl",
          [python("encoders.train", run.config, "--data", str(data), "--out", str(run_dir), *overrides)])
    recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    return {k: recorded[k] for k in ("train_seconds", "score_seconds")}


def execute(run: Run, dataset: str, data: Path, run_dir: Path, quick: bool, seed: int, current: dict,
            pseudonyms: Path) -> None:
    """Train (if the run trains), predict dev and test, score test with the dev-tuned threshold. The
    manifest is written first, so a run stopped part-way keeps its finished steps for the next call
    while what it is made from is unchanged; timing.json, written last, marks it finished."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").write_text(json.dumps(current, indent=1) + "\n", encoding="utf-8")
    if run.kind == "constant":
        timing = run_constant(data, run_dir)
    elif run.kind in ("prior", "history"):  # the same rates; history adds the person's own
        timing = run_prior(data, run_dir, pseudonyms if run.kind == "history" else None)
    elif run.kind == "llm":
        timing = run_llm(run, dataset, data, run_dir, quick, seed)
    else:
        timing = run_encoder(run, data, run_dir, quick)
    dev = ["--dev-predictions", str(run_dir / "dev_predictions.jsonl")] if run.kind != "constant" else []
    call(python("eval.score", "--predictions", str(run_dir / "predictions.jsonl"), *dev, "--aggregation", "any-yes",
                "--tables", str(data / "tables")), run_dir / "log.txt")
    (run_dir / "timing.json").write_text(json.dumps(timing) + "\n", encoding="utf-8")


def score_on(run: Run, run_dir: Path, keys: set, subset: str) -> None:
    """A run's test predictions scored again on a subset of the pairs (`keys`), at the run's own dev
    threshold, into run_dir/subset: the LLM rows' sample (ON_SAMPLE), where an every-pair run meets
    them on equal terms, or the newcomers (NEWCOMERS)."""
    rows = [row for row in read_jsonl(run_dir / "predictions.jsonl") if pair_key(row) in keys]
    out = run_dir / subset
    if (out / "metrics.json").exists() and read_jsonl(out / "predictions.jsonl") == rows:
        return
    write_jsonl(out / "predictions.jsonl", rows)
    dev = ["--dev-predictions", str(run_dir / "dev_predictions.jsonl")] if run.kind != "constant" else []
    call(python("eval.score", "--predictions", str(out / "predictions.jsonl"), *dev, "--aggregation", "any-yes"),
         run_dir / "log.txt")


def run_manifest(run: Run, data: Path, quick: bool, seed: int, pseudonyms: Path) -> dict:
    """What a run's result depends on: its definition, the config files it reads, its data (and the
    pseudonym map for the contributor's history), seed, versions."""
    configs = [ROOT / c for c in (run.config,) if c and (ROOT / c).is_file()] + ([LORA_CONFIG] if run.config == "lora" else [])
    definition = {"run": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(run).items()
                          if k != "datasets"},  # where else a run is measured does not change this result
                  "quick": quick,
                  "configs": {str(c.relative_to(ROOT)): c.read_text(encoding="utf-8") for c in configs}}
    files = [data / f"{split}.jsonl" for split in ("train", "dev", "test")] + ([pseudonyms] if run.kind == "history" else [])
    return manifest(definition, files, seed)


def stale(run_dir: Path, current: dict) -> list[str]:
    """Why the steps a run has done, finished or stopped part-way, cannot stand for this one ([] when
    they can, or when there are none): a stopped run resumes only from what it would be made of now."""
    if not any((run_dir / record).exists() for record in STEP_RECORDS):
        return []
    recorded = run_dir / "manifest.json"
    return differences(json.loads(recorded.read_text(encoding="utf-8")) if recorded.exists() else None, current)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few conversations per split, 2 training steps")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--runs", nargs="+", choices=[r.name for r in RUNS],
                        help="the runs to train and score if not finished (default: every run; the table shows every "
                             "finished run); a committed row made before rows recorded a manifest (†) is redone "
                             "only when named here")
    parser.add_argument("--dev-pairs", type=int, default=80, help="a seeded sample of this many dev pairs (0: all)")
    parser.add_argument("--test-pairs", type=int, default=160, help="the same for test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-rerun", action="store_true",
                        help="stop, naming each finished run whose manifest differs, instead of redoing it")
    parser.add_argument("--work", type=Path, help="runs folder (default runs/quality, or runs/quality-quick)")
    parser.add_argument("--out", type=Path, help="results folder (default bench/results, or the work folder with --quick)")
    parser.add_argument("--data", type=Path, help="prepared data folder (default data/prepared/quality, or quality-quick)")
    args = parser.parse_args(argv)
    named, args.runs = set(args.runs or ()), args.runs or [r.name for r in RUNS]
    suffix = "-quick" if args.quick else ""
    work = args.work or ROOT / "runs" / f"quality{suffix}"
    out = args.out or (work if args.quick else ROOT / "bench" / "results")
    data_root = args.data or ROOT / "data" / "prepared" / f"quality{suffix}"
    sample_pairs = {"dev": 15, "test": 25} if args.quick else {"dev": args.dev_pairs, "test": args.test_pairs}
    settings = provenance(args.quick)
    folders, evaluation = {}, {}
    for dataset in args.datasets:
        used = {run.prep for run in RUNS if dataset in run.datasets}
        prepared = {prep: prepare(dataset, prep, data_root, args.quick, args.seed)
                    for prep in (IAC_PREPS if dataset in iac.DATASETS else PREPS) if prep in used}
        chosen = {prep: folder for prep, folder in prepared.items() if prep not in CURVE_PREPS}
        curve = {prep: folder for prep, folder in prepared.items() if prep in CURVE_PREPS}
        seed = None if args.quick else args.seed
        every, evaluation[dataset] = evaluation_sets(chosen, {"dev": 0, "test": 0}, seed, "evaluation")
        folders[dataset] = {"every pair": every}  # -> data folder per prep variant
        if any(run.sampled and dataset in run.datasets for run in RUNS):
            folders[dataset]["sample"], evaluation[dataset]["sample"] = evaluation_sets(chosen, sample_pairs, seed,
                                                                                         "evaluation-sample", curve)
        evaluation[dataset]["panel"] = panel_ceiling(next(iter(every.values())))
    results, failed, refused = {dataset: {} for dataset in args.datasets}, [], []
    plan = []  # (run, dataset, its data folder, its pseudonym map, its manifest now), in the table's order
    for run in RUNS:
        for dataset in (d for d in args.datasets if d in run.datasets):
            data = folders[dataset]["sample" if run.sampled else "every pair"][run.prep]
            pseudonyms = private_dir(prepared_folder(dataset, run.prep, data_root)) / "pseudonyms.json"
            plan.append((run, dataset, data, pseudonyms, run_manifest(run, data, args.quick, args.seed, pseudonyms)))
    newcomers = {dataset: newcomer_pairs(folders[dataset]["every pair"]["focus"],
                                         private_dir(prepared_folder(dataset, "focus", data_root)) / "pseudonyms.json")
                 for dataset in args.datasets}
    committed, settled = committed_rows(out / "quality.json"), set()
    for run, dataset, _, _, current in plan:  # a clone without the runs: each committed row, while it holds
        row = committed.get(dataset, {}).get(run.name)
        if not row or (work / dataset / run.name / "timing.json").exists():
            continue
        changed = differences(row["manifest"], current) if row.get("manifest") else \
            ["no manifest recorded (†), --runs names it"] if run.name in named else []
        if not changed:
            results[dataset][run.name] = row
        elif args.no_rerun:
            refused.append(f"{dataset} / {run.name} (committed row): {', '.join(changed)}")
        else:
            print(f"{dataset} / {run.name}: the committed row is dropped, its manifest differs: {', '.join(changed)}"
                  + ("" if run.name in args.runs else " (--runs it to redo it)"), flush=True)
            continue
        settled.add((dataset, run.name))
    # Run by run, the LLM runs first, the cheap ones last. --runs chooses what is trained; the table
    # keeps every finished run of these datasets, so training one row does not drop the others.
    for run, dataset, data, pseudonyms, current in plan:
        run_dir = work / dataset / run.name
        if (dataset, run.name) in settled:
            continue
        changed = stale(run_dir, current) if run.name in args.runs else []
        if changed and args.no_rerun:
            refused.append(f"{dataset} / {run.name}: {', '.join(changed)}")
            continue
        if changed:
            print(f"{dataset} / {run.name}: redone, its manifest differs: {', '.join(changed)}", flush=True)
            for record in STEP_RECORDS:  # every step of it again
                (run_dir / record).unlink(missing_ok=True)
        try:
            if run.name in args.runs and not (run_dir / "timing.json").exists():
                print(f"{dataset} / {run.name} ...", flush=True)
                execute(run, dataset, data, run_dir, args.quick, args.seed, current, pseudonyms)
        except RuntimeError as error:  # one failed run leaves the others' results standing
            failed.append(f"{dataset} / {run.name}: {error}")
            continue
        if not (run_dir / "timing.json").exists():
            continue
        if not run.sampled and "sample" in folders[dataset]:
            score_on(run, run_dir, {pair_key(row) for row in read_jsonl(folders[dataset]["sample"][run.prep] / "test.jsonl")},
                     ON_SAMPLE)
        if newcomers[dataset]:
            score_on(run, run_dir, newcomers[dataset], NEWCOMERS)
        results[dataset][run.name] = {**result(run_dir), "context_tokens": sequence_len(dataset, run.prep)
                                      if run.kind == "llm" and run.prep != "snippets" else None}
        write_results(out, {d: section(d, results[d], evaluation[d], settings) for d in args.datasets})
    write_results(out, {d: section(d, results[d], evaluation[d], settings) for d in args.datasets})
    if refused:
        raise UserError("finished runs whose manifest differs (--no-rerun):\n  " + "\n  ".join(refused))
    if failed:
        raise RuntimeError("runs failed:\n" + "\n".join(failed))
    return results


def committed_rows(path: Path) -> dict[str, dict]:
    """The rows already written, per dataset. A run not finished in this runs folder (a fresh clone:
    runs/ is not committed) keeps its row while the manifest the row recorded matches what the run
    would be now; a row from before rows recorded one is kept as it is, and the table marks it."""
    if not path.exists():
        return {}
    return {dataset: section["runs"] for dataset, section in json.loads(path.read_text(encoding="utf-8"))["datasets"].items()}


def section(dataset: str, runs: dict, evaluation: dict, settings: dict) -> dict:
    not_measured = {run.name: CURVE_ONLY if run.prep in CURVE_PREPS else IAC_ONLY if dataset not in iac.DATASETS
                    else NOT_ON_IAC[run.name] for run in RUNS if dataset not in run.datasets}
    ordered = {run.name: runs[run.name] for run in RUNS if run.name in runs}  # kept rows first come in RUNS' place
    return {"settings": settings, "evaluation": evaluation, "runs": ordered, "not_measured": not_measured}


def provenance(quick: bool) -> dict:
    """The machine, commit and versions that made the results."""
    from importlib.metadata import version

    import torch

    commit = (git_state()["commit"] or "")[:7]
    return {"machine": f"{os.cpu_count()} CPU cores" + (", a GPU" if torch.cuda.is_available() else ", no GPU"),
            "commit": commit or "unknown", "quick": quick,
            **{package: version(package) for package in ("torch", "transformers", "sentence-transformers")}}


if __name__ == "__main__":
    run_cli(main)
