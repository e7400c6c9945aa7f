"""The prep report: counts in and out, every exclusion with its reason, token statistics, and
the seconds each stage took (the one part that differs between runs on the same input)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished workers."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Stages:
    """Wall and CPU seconds per stage of one run, in order. On a shared machine the wall times
    carry other processes' load; the CPU times (this process and its workers) do not."""

    def __init__(self, imports: float):
        self.seconds, self.cpu_seconds = {"imports": round(imports, 2)}, {"imports": round(_cpu_seconds(), 2)}
        self.last, self.last_cpu = time.perf_counter(), _cpu_seconds()

    def done(self, name: str) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds()
        self.seconds[name], self.cpu_seconds[name] = round(now - self.last, 2), round(cpu - self.last_cpu, 2)
        self.last, self.last_cpu = now, cpu

    def record(self, workers: int) -> dict:
        return {"workers": workers, "seconds": self.seconds, "total": round(sum(self.seconds.values()), 2),
                "cpu_seconds": self.cpu_seconds, "cpu_total": round(sum(self.cpu_seconds.values()), 2)}


def length_stats(lengths: list[int], sequence_len: int) -> dict:
    if not lengths:
        return {"samples": 0}
    values = np.asarray(lengths)
    return {
        "samples": int(values.size), "min": int(values.min()), "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)), "max": int(values.max()), "mean": round(float(values.mean()), 1),
        "over_sequence_len": int((values > sequence_len).sum()),
    }


MOST_REPLACED = 20


def most_replaced(strings: Counter, n: int = MOST_REPLACED) -> list[dict]:
    """The n texts replaced most often, with their type: an everyday word high in this list ("God"
    x560) is a word the anonymiser took for a name."""
    return [{"text": text, "kind": kind, "count": count}
            for (kind, text), count in sorted(strings.items(), key=lambda item: (-item[1], item[0]))[:n]]


def write_report(out_dir: Path, report: dict) -> None:
    (out_dir / "prep_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "prep_report.md").write_text(markdown(report))


def markdown(report: dict) -> str:
    settings = report["settings"]
    lines = [
        "# Prep report", "",
        f"Strategy `{settings['strategy']}`, sequence_len {settings['sequence_len']}, "
        f"template {settings['template_version']}, tokenizer `{settings['tokenizer']}`.", "",
        f"In: {report['input']['messages']} messages, {report['input']['stances']} stances, "
        f"{report['input']['conversations']} conversations.", "",
        "| split | conversations | samples | yes | no | tokens min / median / p90 / max | shortened | contributor msgs kept / dropped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, split in report["splits"].items():
        t = split["tokens"]
        tokens = f"{t['min']} / {t['median']:.0f} / {t['p90']:.0f} / {t['max']}" if t["samples"] else "-"
        lines.append(
            f"| {name} | {split['conversations']} | {split['samples']} | {split['yes']} | {split['no']} | {tokens} "
            f"| {split['shortened']} | {split['contributor_messages_kept']} / {split['contributor_messages_dropped']} |")
    if report.get("to_label", {}).get("pairs"):
        to_label = report["to_label"]
        lines += ["", f"To label: {to_label['pairs']} pairs in {to_label['conversations']} conversations that nobody has "
                  "judged yet (no label, no vote), in `to_label.jsonl`, never in train, dev or test."]
    lines += ["", f"Exclusions: {len(report['exclusions']['items'])}", ""]
    if report["exclusions"]["items"]:
        lines += ["| reason | count |", "|---|---|"]
        lines += [f"| {reason} | {n} |" for reason, n in report["exclusions"]["counts"].items()]
        lines += ["", "Every excluded item, with file and row, is listed in prep_report.json."]
    return "\n".join(lines + data_lines(report)) + "\n"


def data_lines(report: dict) -> list[str]:
    """Import repairs, split assignment, anonymisation, languages and panel agreement, when present."""
    lines = []
    if report.get("import"):
        imported = report["import"]
        lines += ["", f"Import ({imported['importer']}, {imported['source']}): "
                  + ", ".join(f"{k} {v}" for k, v in imported["counts"].items()) + "."]
        if imported["repairs"]:
            lines.append("Repaired (listed in prep_report.json): " + ", ".join(f"{k} {v}" for k, v in imported["repairs"].items()) + ".")
    if "split_assignment" in report:
        split = report["split_assignment"]
        lines += ["", f"Splits {split['by']} (by conversation); message texts in two splits: {split['texts_in_two_splits']}."]
    if "anonymisation" in report:
        anonymisation = report["anonymisation"]
        replaced = ", ".join(f"{k} {v}" for k, v in anonymisation["replaced"].items()) or "nothing"
        lines += ["", f"Anonymised: {anonymisation['authors']} authors as pseudonyms (map in "
                  f"`{anonymisation['pseudonym_map']}`, kept apart); replaced: {replaced}."]
        if anonymisation.get("most_replaced"):
            lines += ["", "Most replaced texts (the original text: check that none is an everyday word):", "",
                      "| text | kind | count |", "|---|---|---|"]
            lines += [f"| {json.dumps(item['text'], ensure_ascii=False)[1:-1].replace('|', '&#124;')} | {item['kind']} "
                      f"| {item['count']} |" for item in anonymisation["most_replaced"]]
    if "languages" in report:
        languages = report["languages"]
        shares = ", ".join(f"{name} {s['share_zh']:.1%}" for name, s in languages["splits"].items())
        lines += ["", f"Messages in Chinese: {shares}. Converted to Simplified: {languages['converted_to_simplified']}; "
                  f"translated{' to ' + languages['translate_to'] if languages['translate_to'] else ''}: {languages['translated']}."]
    if report.get("panel"):
        panel = report["panel"]
        lines += ["", f"Panel: {panel['annotators']} annotators, {panel['items']} stances; Fleiss' kappa {panel['fleiss_kappa']}, "
                  f"Krippendorff's alpha {panel['krippendorff_alpha']}; human-level F1 {panel['human']['mean_f1']} "
                  "(each annotator against the majority of the others)."]
        quality = panel["human"]["per_annotator"]
        if quality:  # without a model; with a run's held-out P(yes), eval.label_quality gives CROWDLAB's
            lines += ["", "Annotator quality (agreement with the majority of the others; `python -m eval.label_quality` "
                      "weighs annotators and a model with CROWDLAB):", "",
                      "| annotator | pairs | agreement | F1 |", "|---|---|---|---|"]
            lines += [f"| {name} | {q['n']} | {q['accuracy']:.3f} | {q['f1']:.3f} |"
                      for name, q in sorted(quality.items(), key=lambda item: item[1]["accuracy"])]
    if report.get("timing"):
        timing = report["timing"]
        stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in timing["seconds"].items())
        lines += ["", f"Seconds ({timing['workers']} workers): {stages}; total {timing['total']:.1f} "
                  f"(CPU {timing['cpu_total']:.1f})."]
    return lines
