"""Is the evidence faithful, and does it find the messages people would point to?

    python -m bench.evidence            # writes bench/results/evidence.{md,json} (committed)
    python -m bench.evidence --quick    # a few pairs per dataset, minutes

Model: SmolLM2-135M-Instruct zero-shot, answers at P(yes) 0.5. Evidence: leave-one-message-out
on focus contexts of 512 tokens (`eval.evidence`), and per-message P(yes) of snippet contexts.

Faithfulness (ERASER's comprehensiveness and sufficiency, with the contributor's messages as the
units), on the demo's test split and on IAC dev-topic conversations (a seeded sample of
--iac-conversations conversations, all prepared as test; one pair per contributor with at
least 3 messages read, half gold "yes"):

    comprehensiveness@k = P(answer | context) - P(answer | context without the top k messages)
    sufficiency@k       = P(answer | context) - P(answer | context with only those k of the
                          contributor's messages; everyone else's messages stay)

for k = 1 and 3, each beside the same with k of the contributor's read messages drawn at random
(seeded, one draw per pair), on the pairs whose contributor has more than k messages read. Higher
comprehensiveness and lower sufficiency are more faithful. CIs: 95% percentile bootstrap over
conversations (2,000 resamples), of the mean and of the paired difference top - random.

Agreement with people (hit@1): RumourEval and CSD label every message (support / deny / query /
comment; favour / against / none); the importers keep only the contributor label, so the message
labels are read here from the source files. On the pairs of every split (the model is zero-shot:
it trained on none) whose gold is "yes" and whose contributor has at least 2 messages read: how often the top-ranked message is one of their
support / favour messages, beside a random ranking (its expected hit@1: the share of such
messages among those read). Where `python -m bench.quality` has trained its cross-encoder on the
dataset (runs/quality/), its snippet P(yes) on every gold-yes test pair with 2 or more snippets is
scored the same way: the evidence of a model that learned the task.

The review page of the demo run (zero-shot, `eval.predict --evidence`, then `eval.review`) is
photographed in headless Chromium with its most doubtful pair open: bench/results/review_page.png.

Work goes to data/prepared/evidence/ (prepared data) and runs/evidence/ (one JSON line per pair,
appended as it is done, so a re-run skips finished pairs).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from bench.quality import MODEL, PREPS, ROOT, call, python
from core.cli import run_cli
from core.jsonl import read_jsonl, write_jsonl
from core.manifest import manifest
from eval import evidence, loglik
from eval.predict import load_model
from prep.importers import csd, rumoureval
from prep.tables import read_rows

DATA = ROOT / "data" / "prepared" / "evidence"
WORK = ROOT / "runs" / "evidence"
RESULTS = ROOT / "bench" / "results"
QUALITY_RUNS = ROOT / "runs" / "quality"  # bench.quality's runs: its trained cross-encoder's snippets, where run
IAC = ROOT.parent / "shared" / "data" / "iac-4forums-dev"
KS = (1, 3)
RESAMPLES = 2000


# --- data -------------------------------------------------------------------------------------

def prepare_demo() -> Path:
    out = DATA / "demo-focus"
    if not (out / "prep_report.json").exists():  # the demo's own prep (Makefile demo-data)
        call(python("prep.build", "--messages", "data/demo/messages.jsonl", "--stances", "data/demo/stances.jsonl",
                    "--tokenizer", MODEL, *PREPS["focus"], "--over-budget", "error", "--split", "0.625,0.125,0.25",
                    "--seed", "0", "--out", str(out)), DATA / "logs" / "demo.log")
    return out


def prepare_iac(conversations: int, seed: int) -> Path:
    """A seeded sample of IAC conversations, every one prepared as test (zero-shot: no training)."""
    out = DATA / f"iac-focus-{conversations}"
    if not (out / "prep_report.json").exists():
        stances = read_rows(IAC / "stances.csv")
        chosen = set(random.Random(seed).sample(sorted({s["conversation_id"] for s in stances}), conversations))
        source = DATA / f"iac-sample-{conversations}"
        for name, rows in (("messages", read_rows(IAC / "messages.csv")), ("stances", stances)):
            write_jsonl(source / f"{name}.jsonl", [r for r in rows if r["conversation_id"] in chosen])
        call(python("prep.build", "--messages", str(source / "messages.jsonl"), "--stances", str(source / "stances.jsonl"),
                    "--tokenizer", MODEL, *PREPS["focus"], "--over-budget", "exclude", "--split", "0,0,1",
                    "--out", str(out)), DATA / "logs" / "iac.log")
    return out


def prepare_import(dataset: str, prep: str) -> Path:
    out = DATA / f"{dataset}-{prep}"
    if not (out / "prep_report.json").exists():
        module = {"rumoureval": "prep.importers.rumoureval", "csd": "prep.importers.csd"}[dataset]
        call(python(module, "--out", str(out), "--tokenizer", MODEL, *PREPS[prep], "--over-budget", "exclude"),
             DATA / "logs" / f"{dataset}-{prep}.log")
    return out


def every_split(prepared: Path) -> list[dict]:
    return [row for split in ("train", "dev", "test") for row in read_jsonl(prepared / f"{split}.jsonl")]


def message_labels(dataset: str) -> dict[tuple[str, str], str]:
    """(conversation_id, message_id) -> the source's own label of that message."""
    if dataset == "rumoureval":
        source = ROOT / rumoureval.SOURCE
        labels = {}
        for name in rumoureval.KEYS.values():
            labels.update(json.loads((source / name).read_text())["subtaskaenglish"])
        conversations = {p.parent.name: [q.stem for q in (p.parent / "replies").glob("*.json")]
                         for p in source.rglob("structure.json")}
        return {(c, m): labels[m] for c, ids in conversations.items() for m in ids if m in labels}
    return {(r["info_id"], r["cmt_id"] or csd.POST_ID): csd.STANCES[r["label"]] for r in read_rows(ROOT / csd.SOURCE)}


IN_FAVOUR = {"rumoureval": "support", "csd": "favour"}


def pick(rows: list[dict], size: int, seed: int, least_read: int) -> list[dict]:
    """One row per contributor with at least `least_read` messages read, half gold yes (seeded)."""
    by_contributor = {}
    for row in sorted(rows, key=lambda r: r["meta"]["context_id"] + r["meta"]["statement_id"]):
        if row["meta"]["contributor_messages_kept"] >= least_read:
            by_contributor.setdefault((row["meta"]["conversation_id"], row["meta"]["contributor"]), []).append(row)
    rng = random.Random(seed)
    candidates = [rng.choice(options) for _, options in sorted(by_contributor.items())]
    rng.shuffle(candidates)
    yes = [r for r in candidates if r["meta"]["label"] == "yes"][:size // 2]
    return yes + [r for r in candidates if r["meta"]["label"] == "no"][:size - len(yes)]


# --- per pair ---------------------------------------------------------------------------------

def faithfulness(ablator: evidence.Ablator, seed: int) -> dict:
    """Leave-one-out evidence of one pair and its comprehensiveness / sufficiency at each k."""
    started = time.perf_counter()
    drops = ablator.leave_one_out()
    loo_seconds = time.perf_counter() - started
    [p_full] = ablator.score([set()])
    answer = "yes" if p_full >= 0.5 else "no"
    sign = 1 if answer == "yes" else -1
    ranking = [m["message_id"] for m in evidence.ranked(drops, answer)]
    record = {"p_yes": p_full, "answer": answer, "read": len(ranking), "leave_one_out": drops,
              "leave_one_out_seconds": round(loo_seconds, 3)}
    rng = random.Random(seed)
    for k in KS:
        if len(ranking) <= k:
            continue
        chosen = {"top": ranking[:k], "random": rng.sample(ranking, k)}
        for name, messages in chosen.items():
            rest = set(ranking) - set(messages)
            without, only = ablator.score([set(messages), rest])
            record[f"comprehensiveness_{name}_{k}"] = sign * (p_full - without)
            record[f"sufficiency_{name}_{k}"] = sign * (p_full - only)
    record["seconds"] = round(time.perf_counter() - started, 3)
    return record


def done_keys(path: Path) -> set:
    return {tuple(r["pair"]) for r in read_jsonl(path)} if path.is_file() else set()


def append(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def key_of(row: dict) -> list[str]:
    return [row["meta"]["conversation_id"], row["meta"]["statement_id"], row["meta"]["contributor"]]


def each_pair(out: Path, label: str, rows: list[dict], prepared: Path, loaded, measure) -> Path:
    """One JSON line of `measure(ablator, number, row)` per pair not yet in `out` (resumable)."""
    if loaded is None:  # --report: tables from the pairs finished so far
        return out
    done, ablator = done_keys(out), evidence.llm_ablator(*loaded)
    messages = evidence.conversations(prepared / "tables")
    for number, row in enumerate(rows, start=1):
        if tuple(key_of(row)) in done:
            continue
        append(out, {"pair": key_of(row), **measure(ablator(row, messages[row["meta"]["conversation_id"]]), number, row)})
        print(f"{label} {number}/{len(rows)}", flush=True)
    return out


def run_faithfulness(work: Path, name: str, prepared: Path, rows: list[dict], loaded, seed: int) -> Path:
    def measure(ablator, number: int, row: dict) -> dict:
        return {"gold": row["meta"]["label"], "n_tokens": row["meta"]["n_tokens"], **faithfulness(ablator, seed + number)}
    return each_pair(work / f"{name}-faithfulness.jsonl", name, rows, prepared, loaded, measure)


def run_hits(work: Path, dataset: str, rows: list[dict], prepared: Path, loaded) -> Path:
    """Leave-one-out (focus) rankings of gold-yes pairs' messages."""
    def measure(ablator, number: int, row: dict) -> dict:
        started = time.perf_counter()
        return {"scores": ablator.leave_one_out(), "seconds": round(time.perf_counter() - started, 3)}
    return each_pair(work / f"{dataset}-focus-hits.jsonl", f"{dataset} focus", rows, prepared, loaded, measure)


def run_snippet_hits(work: Path, dataset: str, pairs: set, prepared: Path, loaded) -> Path:
    """Per-message P(yes) of the same pairs' snippets (the snippets run of bench.quality, zero-shot)."""
    out = work / f"{dataset}-snippets-hits.jsonl"
    if loaded is None:  # --report: tables from the pairs finished so far
        return out
    done = done_keys(out)
    tokenizer, model = loaded
    answer_ids = loglik.answer_token_ids(tokenizer)
    by_pair = defaultdict(list)
    for row in every_split(prepared):
        if tuple(key_of(row)) in pairs:
            by_pair[tuple(key_of(row))].append(row)
    for number, (key, rows) in enumerate(sorted(by_pair.items()), start=1):
        if key in done:
            continue
        scores = {r["meta"]["message_id"]: loglik.score_alone(model, loglik.prompt_ids(tokenizer, r), answer_ids)["p_yes"]
                  for r in rows}
        append(out, {"pair": list(key), "scores": scores})
        print(f"{dataset} snippets {number}/{len(by_pair)}", flush=True)
    return out


def trained_hits(work: Path, dataset: str, predictions: Path) -> Path:
    """The snippet P(yes) of bench.quality's trained cross-encoder, on its test pairs with gold yes
    and at least 2 snippets: the evidence of a model that learned the task (no model run here)."""
    by_pair = defaultdict(dict)
    for row in read_jsonl(predictions):
        if row["gold"] == "yes":
            by_pair[tuple(key_of(row))][row["meta"]["message_id"]] = row["p_yes"]
    out = work / f"{dataset}-cross-encoder-hits.jsonl"
    write_jsonl(out, [{"pair": list(key), "scores": scores} for key, scores in sorted(by_pair.items()) if len(scores) >= 2])
    return out


def review_screenshot(work: Path, prepared: Path, png: Path) -> None:
    """The demo run's review page (one test conversation), its first pair opened, as a PNG (needs selenium, chromedriver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    run_dir = work / "demo-zero-shot"
    png.parent.mkdir(parents=True, exist_ok=True)
    if not (run_dir / "evidence.jsonl").is_file():  # one test conversation: a page to look at, in minutes
        rows = read_jsonl(prepared / "test.jsonl")
        write_jsonl(run_dir / "test.jsonl", [r for r in rows if r["meta"]["conversation_id"] == rows[0]["meta"]["conversation_id"]])
        call(python("eval.predict", "--model", MODEL, "--data", str(run_dir / "test.jsonl"), "--tables",
                    str(prepared / "tables"), "--out", str(run_dir / "predictions.jsonl"), "--evidence"),
             work / "logs" / "demo-predict.log")
    call(python("eval.review", str(run_dir), "--tables", str(prepared / "tables"), "--out", str(run_dir / "review.html")),
         work / "logs" / "demo-review.log")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get((run_dir / "review.html").as_uri())
        driver.find_elements("css selector", "tr.pair")[0].click()
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


# --- statistics -------------------------------------------------------------------------------

def mean_ci(values: list[float], groups: list[str], seed: int = 0) -> dict:
    """Mean with a 95% percentile bootstrap CI over resampled conversations."""
    values, groups = np.asarray(values, float), np.asarray(groups)
    names = np.unique(groups)
    sums = np.array([values[groups == g].sum() for g in names])
    counts = np.array([(groups == g).sum() for g in names])
    draws = np.random.default_rng(seed).integers(0, len(names), (RESAMPLES, len(names)))
    means = sums[draws].sum(1) / counts[draws].sum(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": float(values.mean()), "low": float(low), "high": float(high), "n": int(len(values))}


def faithfulness_table(path: Path) -> dict:
    records = read_jsonl(path)
    table = {"pairs": len(records), "answered_yes": sum(r["answer"] == "yes" for r in records),
             "messages_read": mean_ci([r["read"] for r in records], [r["pair"][0] for r in records]),
             "leave_one_out_seconds": mean_ci([r["leave_one_out_seconds"] for r in records], [r["pair"][0] for r in records]),
             "seconds_per_pair": mean_ci([r["seconds"] for r in records], [r["pair"][0] for r in records])}
    for k in KS:
        rows = [r for r in records if f"comprehensiveness_top_{k}" in r]
        if not rows:
            continue
        groups = [r["pair"][0] for r in rows]
        for metric in ("comprehensiveness", "sufficiency"):
            top, rand = ([r[f"{metric}_{name}_{k}"] for r in rows] for name in ("top", "random"))
            table[f"{metric}@{k}"] = {"top": mean_ci(top, groups), "random": mean_ci(rand, groups),
                                      "difference": mean_ci([t - r for t, r in zip(top, rand)], groups)}
    return table


def hits_table(path: Path, labels: dict, favour: str) -> dict:
    hits, expected, groups = [], [], []
    for record in read_jsonl(path):
        conversation = record["pair"][0]
        scores = record["scores"]
        top = max(sorted(scores), key=scores.get)
        in_favour = [labels.get((conversation, m)) == favour for m in scores]
        hits.append(float(labels.get((conversation, top)) == favour))
        expected.append(sum(in_favour) / len(in_favour))
        groups.append(conversation)
    return {"hit@1": mean_ci(hits, groups), "random": mean_ci(expected, groups),
            "difference": mean_ci([h - e for h, e in zip(hits, expected)], groups)}


# --- report -----------------------------------------------------------------------------------

def cell(ci: dict) -> str:
    return f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}]"


def markdown(results: dict) -> str:
    lines = ["# Evidence: faithfulness and agreement with people", "",
             f"Made by `{results['command']}` at commit {results['manifest']['commit']} "
             f"(torch {results['manifest']['versions'].get('torch')}, "
             f"transformers {results['manifest']['versions'].get('transformers')}). "
             "SmolLM2-135M-Instruct zero-shot, focus contexts of 512 tokens, answers at P(yes) 0.5; "
             "evidence by leave-one-message-out (`eval.evidence`). See bench/evidence.py for the definitions.", "",
             "## Faithfulness (ERASER, messages as units)", "",
             "Mean over pairs [95% CI, bootstrap by conversation]; comprehensiveness: higher is more faithful, "
             "sufficiency: lower is. `n`: pairs with more than k messages read.", "",
             "| data | metric | k | n | top-k evidence | random k | top - random |", "|---|---|---|---|---|---|---|"]
    for name, table in results["faithfulness"].items():
        for k in KS:
            for metric in ("comprehensiveness", "sufficiency"):
                entry = table.get(f"{metric}@{k}")
                if entry:
                    lines.append(f"| {name} | {metric} | {k} | {entry['top']['n']} | {cell(entry['top'])} | "
                                 f"{cell(entry['random'])} | {cell(entry['difference'])} |")
    lines += ["", "Pairs and cost (2 shared CPU cores; leave-one-out is the evidence itself, the rest is the "
              "faithfulness measurement):", "",
              "| data | pairs | answered yes | messages read per pair | leave-one-out s per pair | all ablations s per pair |",
              "|---|---|---|---|---|---|"]
    for name, table in results["faithfulness"].items():
        lines.append(f"| {name} | {table['pairs']} | {table['answered_yes']} | {table['messages_read']['mean']:.1f} | "
                     f"{table['leave_one_out_seconds']['mean']:.2f} | {table['seconds_per_pair']['mean']:.2f} |")
    lines += ["", "## Agreement with message labels (hit@1)", "",
              "Pairs of every split (zero-shot: none trained on) with gold yes and at least 2 messages read: is the top-ranked message one the "
              "annotators labelled support (RumourEval) / favour (CSD)? Random: the expected hit@1 of a random "
              "ranking (share of such messages). cross-encoder (trained): `bench.quality`'s cross-encoder, its snippet P(yes) on "
              "the test pairs (it trained on the train split).", "",
              "| data | evidence | pairs | hit@1 | random | hit@1 - random |", "|---|---|---|---|---|---|"]
    for name, table in results["hits"].items():
        dataset, source = name.split("/")
        lines.append(f"| {dataset} | {source} | {table['hit@1']['n']} | {cell(table['hit@1'])} | "
                     f"{cell(table['random'])} | {cell(table['difference'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iac-conversations", type=int, default=24, help="seeded sample of IAC conversations")
    parser.add_argument("--pairs", type=int, default=48, help="faithfulness pairs per dataset (half gold yes)")
    parser.add_argument("--hit-pairs", type=int, default=48, help="hit@1 pairs per dataset, at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="write the tables from the pairs finished so far, compute nothing")
    parser.add_argument("--quick", action="store_true", help="4 pairs per measurement (the plumbing, not the numbers)")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs = args.hit_pairs = 4
    work = WORK / ("quick" if args.quick else "full")
    loaded = None if args.report else load_model(MODEL)
    torch.set_grad_enabled(False)
    faithful = {}
    if not args.quick and not args.report:
        review_screenshot(work, prepare_demo(), RESULTS / "review_page.png")
    for name, prepared, least in (("iac", prepare_iac(args.iac_conversations, args.seed), 3), ("demo", prepare_demo(), 2)):
        rows = pick(read_jsonl(prepared / "test.jsonl"), args.pairs, args.seed, least)
        done = run_faithfulness(work, name, prepared, rows, loaded, args.seed)
        if done.is_file():
            faithful[name] = faithfulness_table(done)
    hits = {}
    for dataset in ("rumoureval", "csd"):
        focus = prepare_import(dataset, "focus")
        eligible = [r for r in every_split(focus)
                    if r["meta"]["label"] == "yes" and r["meta"]["contributor_messages_kept"] >= 2]
        random.Random(args.seed).shuffle(eligible)
        rows = eligible[:args.hit_pairs]
        labels = message_labels(dataset)
        snippets = prepare_import(dataset, "snippets")
        for source, done in (("leave-one-out", run_hits(work, dataset, rows, focus, loaded)),
                             ("snippets", run_snippet_hits(work, dataset, {tuple(key_of(r)) for r in rows}, snippets, loaded))):
            if done.is_file():
                hits[f"{dataset}/{source}"] = hits_table(done, labels, IN_FAVOUR[dataset])
        trained = QUALITY_RUNS / dataset / "cross-encoder" / "predictions.jsonl"
        if trained.is_file():
            hits[f"{dataset}/cross-encoder (trained)"] = hits_table(trained_hits(work, dataset, trained), labels,
                                                                    IN_FAVOUR[dataset])
    results = {"command": "python -m bench.evidence" + (" --quick" if args.quick else ""), "settings": vars(args),
               "manifest": manifest(vars(args), seed=args.seed), "faithfulness": faithful, "hits": hits}
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "evidence.json").write_text(json.dumps(results, indent=1) + "\n")
        (RESULTS / "evidence.md").write_text(markdown(results))
    print(markdown(results))
    return results


if __name__ == "__main__":
    run_cli(main)
