"""bench.quality's results: one row per finished run, the floors and the panel's ceiling, per dataset.

quality.json: {"datasets": {name: {"settings", "evaluation", "runs", "not_measured"}}}; a dataset
not run this time keeps its section from the file already there, so one dataset can be re-run
alone. Each row records the manifest fields that made it (`core.manifest.COMPARED`), so that a
clone without the runs folder keeps the rows that still hold (`bench.quality`). quality.md renders
the same, with the length breakdowns of every run.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.manifest import COMPARED

ON_SAMPLE = "on-sample"  # in an every-pair run's folder: its test predictions on the LLM rows' sample, scored
NEWCOMERS = "newcomers"  # in a run's folder: its test predictions on the pairs of contributors train never labelled
LENGTH_GROUPS = {"conversation_chars": "conversation length (characters)",
                 "contributor_messages": "the contributor's own messages"}


def headline(metrics: dict) -> dict:
    """F1, MCC and ROC AUC with their CIs, precision, recall, accuracy and pairs, from eval.score's metrics.json."""
    ci = {name: interval(bounds) for name, bounds in metrics["ci"].items()}
    ranked = metrics["ranking"] or {"roc_auc": None, "roc_auc_ci": None}  # None: no P(yes) (always-yes)
    return {"f1": metrics["f1"], "f1_ci": ci["f1"], "mcc": metrics["mcc"], "mcc_ci": ci["mcc"],
            **{k: metrics[k] for k in ("precision", "recall", "accuracy", "n")},
            "roc_auc": ranked["roc_auc"], "roc_auc_ci": interval(ranked["roc_auc_ci"]),
            "f1_best_threshold": ranked.get("f1_best_threshold")}  # absent from metrics scored before it was


def result(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    timing = json.loads((run_dir / "timing.json").read_text(encoding="utf-8"))
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8")) if (run_dir / "run.json").exists() else {}
    made = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))  # bench.quality writes it with the row
    breakdowns = {name: [{**{k: row[k] for k in ("group", "n", "gold_yes", "f1", "mcc")},
                          "f1_ci": interval(row["ci"]["f1"]), "mcc_ci": interval(row["ci"]["mcc"])}
                         for row in metrics["breakdowns"][name]]
                  for name in LENGTH_GROUPS if name in metrics["breakdowns"]}
    return {**headline(metrics), **{k: round(v, 1) for k, v in timing.items()}, "train_pairs": trained_on(run_dir, record),
            "commit": (made["commit"] or "?")[:7] + ("+" if made["dirty"] else ""),  # + : the tree had changes
            "manifest": {k: made[k] for k in COMPARED},  # what must match for the row to stand for a rerun
            "windows": windows_read(record), "by_length": breakdowns, "history": record.get("history"),
            **{key: headline(json.loads((run_dir / subset / "metrics.json").read_text(encoding="utf-8")))
               if (run_dir / subset / "metrics.json").exists() else None
               for key, subset in (("on_sample", ON_SAMPLE), ("newcomers", NEWCOMERS))}}


def windows_read(record: dict) -> int | str | None:
    """A message reader's cap on each contributor's messages ("all": none), from its run.json; None for other runs."""
    settings = record.get("settings", {})
    return (settings.get("max_windows") or "all") if settings.get("windows") == "messages" else None


def trained_on(run_dir: Path, record: dict) -> int | None:
    """Train questions a run learned from: an encoder's (its run.json `record`), a LoRA's sample (its train.jsonl)."""
    if (run_dir / "train.jsonl").exists():
        return sum(1 for _ in open(run_dir / "train.jsonl", encoding="utf-8"))
    return record.get("questions", {}).get("train_used")  # eval.predict's run.json (zero-shot) has none


def interval(ci: dict | None) -> list:
    return [(ci or {}).get("low"), (ci or {}).get("high")]


def with_interval(value: float | None, ci: list | None) -> str:
    """'0.634 [0.594, 0.670]'; the value alone without a CI; '–' without a value."""
    if value is None:
        return "–"
    if ci is None:
        return f"{value:.3f}"
    low, high = ci
    interval = "no CI: one conversation" if low is None else f"{low:.3f}, {high:.3f}"
    return f"{value:.3f} [{interval}]"


def dataset_section(name: str, section: dict) -> list[str]:
    test, dev = section["evaluation"]["test"], section["evaluation"]["dev"]
    lines = [f"## {name}", ""]
    if section.get("note"):
        lines += [section["note"], ""]
    sample = section["evaluation"].get("sample")
    sampled = (f" The rows marked * (the LLM's) score a seeded sample of {sample['test']['pairs']} of these test pairs "
               f"({sample['test']['yes']} yes, {sample['test']['conversations']} conversations) and "
               f"{sample['dev']['pairs']} dev pairs ({sample['dev']['yes']} yes): SmolLM2 costs about a second a snippet "
               f"and several a long context on CPU, so every pair would cost hours; the rest score every pair."
               + "".join(f" The {prep} rows leave out the sample's pairs that do not fit in that budget: "
                         f"{count} of the test pairs, {sample['dev']['over_budget'][prep]} of the dev pairs."
                         for prep, count in sample["test"].get("over_budget", {}).items() if count)
               if sample else "")
    lines += [f"Test: {test['pairs']} pairs ({test['yes']} yes) in {test['conversations']} conversations; "
              f"{sum(test['left_out_not_in_every_prep'].values())} not kept by every prep variant. "
              f"Dev (threshold tuning): {dev['pairs']} pairs ({dev['yes']} yes) in {dev['conversations']} conversations."
              + sampled, "",
              "| run | F1 [95% CI] | precision | recall | accuracy | MCC [95% CI] | ROC AUC [95% CI] | best F1 | pairs | "
              "trained on | train s | score s | commit |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run, r in section["runs"].items():
        marked = "*" if sample and r["n"] < test["pairs"] else ""
        lines.append(f"| {run}{marked} | {with_interval(r['f1'], r['f1_ci'])} | {r['precision']:.3f} | {r['recall']:.3f} | "
                     f"{r['accuracy']:.3f} | {with_interval(r['mcc'], r['mcc_ci'])} | "
                     f"{with_interval(r['roc_auc'], r['roc_auc_ci'])} | {with_interval(r.get('f1_best_threshold'), None)} | "
                     f"{r['n']} | {r.get('train_pairs') or '–'} | "
                     f"{r['train_seconds']:.0f} | "
                     f"{r['score_seconds']:.0f} | {r.get('commit') or '–'}{'' if r.get('manifest') else '†'} |")
    panel = section["evaluation"].get("panel")
    if panel:
        pooled = panel["pooled"]
        lines.append(f"| panel (ceiling) | {panel['f1']:.3f} | {pooled['precision']:.3f} | {pooled['recall']:.3f} | "
                     f"{pooled['accuracy']:.3f} | {pooled['mcc']:.3f} | – | – | {test['pairs']} | – | – | – | – |")
    lines.append("")
    if not all(r.get("manifest") for r in section["runs"].values()):
        lines += ["† made before a row recorded its manifest (the config, data, seed and package versions that made "
                  "it): kept as committed, unchecked against them; `python -m bench.quality --runs NAME` redoes it "
                  "and records one.", ""]
    for run, history in ((run, r["history"]) for run, r in section["runs"].items() if r.get("history")):
        lines += [f"{run}: the contributor was labelled on the statement in another (train) conversation for "
                  f"{history['test']['seen_before']} of the {history['test']['pairs']} test pairs "
                  f"({history['dev']['seen_before']} of {history['dev']['pairs']} dev pairs); the others get the "
                  "statement's rate.", ""]
    if panel:
        lines += [f"Panel: {panel['estimator']} estimator ({panel['reason']}): every vote on these test pairs against the "
                  f"majority of the other votes on its pair, ties skipped, {panel['pooled']['votes']} votes "
                  f"(per-annotator mean over columns, wrong here: {panel['per_annotator']['mean_f1']:.3f}).", ""]
    if sample:
        lines += same_pairs(section, sample["test"])
    lines += newcomers(section)
    reasons = {}
    for run, reason in section.get("not_measured", {}).items():
        reasons.setdefault(reason, []).append(f"**{run}**")
    lines += [f"- {', '.join(runs)}: {reason}" for reason, runs in reasons.items()] + ([""] if reasons else [])
    for group, title in LENGTH_GROUPS.items():
        runs = {run: r["by_length"][group] for run, r in section["runs"].items() if r.get("by_length", {}).get(group)}
        if not runs:
            continue
        names = [row["group"] for row in next(iter(runs.values()))]
        lines += [f"By {title}: F1 [95% CI] / MCC [95% CI] (pairs, yes)", "",
                  "| run | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for run, rows in runs.items():
            cells = {row["group"]: f"{with_interval(row['f1'], row['f1_ci'])} / {with_interval(row['mcc'], row['mcc_ci'])} "
                                   f"({row['n']}, {row['gold_yes']})" for row in rows}
            lines.append(f"| {run} | " + " | ".join(cells.get(n, "–") for n in names) + " |")
        lines.append("")
    settings = section.get("settings", {})
    if settings:
        lines += ["Made by " + ", ".join(f"{k} {v}" for k, v in settings.items()) + ".", ""]
    return lines


def same_pairs(section: dict, sample: dict) -> list[str]:
    """Every run on the * rows' sample: the LLM rows as they are, the others rescored there (`on_sample`)."""
    rows = {run: r.get("on_sample") or (r if r["n"] <= sample["pairs"] else None) for run, r in section["runs"].items()}
    return [f"The same {sample['pairs']} test pairs as the * rows ({sample['yes']} yes), every run at its own dev "
            "threshold: the LLM rows against the others on equal terms (a shorter budget's rows: the pairs that fit).", "",
            *subset_table({run: r for run, r in rows.items() if r})]


def subset_table(rows: dict) -> list[str]:
    """run -> its headline on a subset of the test pairs, as a table."""
    return ["| run | F1 [95% CI] | MCC [95% CI] | ROC AUC [95% CI] | pairs |", "|---|---|---|---|---|",
            *(f"| {run} | {with_interval(r['f1'], r['f1_ci'])} | {with_interval(r['mcc'], r['mcc_ci'])} | "
              f"{with_interval(r['roc_auc'], r['roc_auc_ci'])} | {r['n']} |" for run, r in rows.items()), ""]


def newcomers(section: dict) -> list[str]:
    """Every run on the test pairs whose contributor train never labelled on the statement: there a
    run must read, since the person's record (the contributor-history row) is not there to recall."""
    rows = {run: r["newcomers"] for run, r in section["runs"].items() if r.get("newcomers")}
    if not rows:
        return []
    return [f"Newcomers: the {max(r['n'] for r in rows.values())} test pairs whose contributor no train conversation "
            "labelled on the statement, every run at its own dev threshold (the * rows: those of their sample); here no "
            "run can answer from the person's record.", "", *subset_table(rows)]


def markdown(datasets: dict) -> str:
    lines = ["# Quality on real conversations", "",
             "Written by `python -m bench.quality`; thresholds tuned on dev, frozen for test; 95% CIs by bootstrap over "
             "conversations. ROC AUC ranks pairs by P(yes) whatever the threshold (0.5: no ranking; – : no P(yes)). "
             "Best F1: the F1 of the threshold best on the test pairs themselves, the most any tuning could give that "
             "ranking (not a result: that threshold saw the gold; – : no P(yes), or scored before it was recorded). "
             "Seconds are wall time on the machine named under each dataset. Trained on: the train rows a run learned from "
             "(pairs; snippets for the snippet runs; the LoRA runs' half-\"yes\" sample); – : no training, or the "
             "statement prior's rates over every train pair.", ""]
    for name, section in datasets.items():
        lines += dataset_section(name, section)
    return "\n".join(lines)


def write_results(out: Path, sections: dict) -> dict:
    """Merge this run's dataset sections into quality.json and rewrite quality.md; returns all datasets."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "quality.json"
    datasets = json.loads(path.read_text(encoding="utf-8"))["datasets"] if path.exists() else {}
    datasets.update(sections)
    (out / "quality.json").write_text(json.dumps({"datasets": datasets}, indent=1) + "\n", encoding="utf-8")
    (out / "quality.md").write_text(markdown(datasets), encoding="utf-8")
    return datasets
