"""What a user waits for: the whole `python -m prep.build` on forum-shaped corpora of 1 to 40 million characters.

    python -m bench.prep_speed                    # every size not yet measured (resumable)
    python -m bench.prep_speed --sizes 37e6 --redo
    -> bench/results/prep_speed.json and prep_speed.md

Each size runs the command as a user would (a fresh process: imports included, from a warm
bytecode cache as in any installed environment; the cache goes to data/prepared/prep-speed/pycache
so that this holds where PYTHONDONTWRITEBYTECODE is set), focus strategy at 8,192 tokens,
SmolLM2's tokenizer, every core, and reads each stage's wall and CPU seconds from its prep report. The reference is one tokenizer pass over the same message texts with the
tokenizer's own thread pool on (every core; the faster of `encode_batch` and
`encode_batch_fast`), in a fresh process too: the floor for anything that must count every token. The ratio per stage is its wall time over the
reference's. The machine's load average before and after each run is recorded: on a shared
machine wall times carry other processes' load, CPU times much less.

Corpora have the shape of a public debate forum: 322 conversations per 37 million characters,
sizes log-normal around a median of 65,000 characters (largest 956,000), posts of about 1,100
characters (`prep.synth` long threads, consecutive messages of one language merged into posts
by the first one's author), 11 contributors asked about per conversation, 3 statements each.
They are generated once into data/prepared/prep-speed/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from math import exp
from pathlib import Path
from statistics import NormalDist

from core.jsonl import write_jsonl
from core.manifest import manifest
from prep.synth import generate_long, has_chinese

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "smollm2-135m-instruct"
WORK = ROOT / "data" / "prepared" / "prep-speed"
RESULTS = ROOT / "bench" / "results"
SIZES = (1e6, 2.5e6, 5e6, 10e6, 20e6, 37e6, 40e6)
CONVERSATIONS_PER_CHAR = 322 / 37e6
MEDIAN_CHARS, SIGMA, SMALLEST, LARGEST = 65_000, 1.03, 50_000, 956_000  # sigma: 37.8M characters at 322
POST_CHARS = 1_100
AUTHORS, ASKED, STATEMENTS = 30, 11, ("start", "middle", "end")
COMMAND = ["--strategy", "focus", "--sequence-len", "8192", "--over-budget", "exclude"]
WORKER_STAGES = ("anonymise", "languages", "build")  # the rest runs in the main process
ENVIRONMENT = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "PYTHONPYCACHEPREFIX": str(WORK / "pycache")}

REFERENCE = """
import json, os, sys, time
os.environ["TOKENIZERS_PARALLELISM"] = "true"
from tokenizers import Tokenizer
tokenizer = Tokenizer.from_file(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as rows:
    texts = [json.loads(row)["text"] for row in rows]
seconds = {}
for method in ("encode_batch", "encode_batch_fast"):
    started = time.perf_counter()
    encoded = getattr(tokenizer, method)(texts, add_special_tokens=False)
    seconds[method] = time.perf_counter() - started
print(json.dumps({"seconds": min(seconds.values()), "methods": seconds, "tokens": sum(map(len, encoded))}))
"""


def conversation_sizes(chars: float) -> list[int]:
    """Log-normal quantiles: the same shape at every corpus size."""
    count = max(1, round(chars * CONVERSATIONS_PER_CHAR))
    normal = NormalDist()
    return [int(min(max(MEDIAN_CHARS * exp(SIGMA * normal.inv_cdf((i + 0.5) / count)), SMALLEST), LARGEST))
            for i in range(count)]


def posts(messages: list[dict]) -> list[dict]:
    """Generated chat messages merged into forum posts of about POST_CHARS characters: each post
    takes the messages that follow its first one in the same language (Chinese or not), under
    the first one's author, time and reply link; every author still opens a post."""
    merged, post_of, authors, open_posts = [], {}, set(), {}
    for message in messages:
        language = has_chinese(message["text"])
        current = open_posts.get(language)
        if current is not None and len(merged[current]["text"]) < POST_CHARS and message["author"] in authors:
            merged[current]["text"] += "\n\n" + message["text"]
        else:
            merged.append({**message, "reply_to": post_of.get(message["reply_to"])})
            authors.add(message["author"])
            current = open_posts[language] = len(merged) - 1
        post_of[message["message_id"]] = merged[current]["message_id"]
    return merged


def corpus(chars: float) -> Path:
    """The corpus of about `chars` characters, generated once."""
    folder = WORK / f"corpus-{int(chars)}"
    if (folder / "stances.jsonl").exists():
        return folder
    messages, stances = [], []
    for index, size in enumerate(conversation_sizes(chars)):
        generated, generated_stances, _ = generate_long(index, 1, size, AUTHORS, list(STATEMENTS))
        merged = posts(generated)
        asked = sorted({m["author"] for m in merged})[:ASKED]
        messages += merged
        stances += [s for s in generated_stances if s["contributor"] in asked]
    write_jsonl(folder / "messages.jsonl", messages)
    write_jsonl(folder / "stances.jsonl", stances)
    return folder


def shape(folder: Path) -> dict:
    lengths, messages = {}, 0
    with open(folder / "messages.jsonl", encoding="utf-8") as rows:
        for row in rows:
            message = json.loads(row)
            lengths[message["conversation_id"]] = lengths.get(message["conversation_id"], 0) + len(message["text"])
            messages += 1
    with open(folder / "stances.jsonl", encoding="utf-8") as rows:
        pairs = sum(1 for _ in rows)
    sizes = sorted(lengths.values())
    return {"characters": sum(sizes), "conversations": len(sizes), "messages": messages, "pairs": pairs,
            "median_conversation": sizes[len(sizes) // 2], "largest_conversation": sizes[-1]}


def reference_pass(folder: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", REFERENCE, str(MODEL / "tokenizer.json"), str(folder / "messages.jsonl")],
                          capture_output=True, text=True, check=True, env=ENVIRONMENT)
    return json.loads(done.stdout)


def prep_run(folder: Path) -> dict:
    out = WORK / f"out-{folder.name}"
    command = [sys.executable, "-m", "prep.build", "--messages", str(folder / "messages.jsonl"),
               "--stances", str(folder / "stances.jsonl"), "--tokenizer", str(MODEL), *COMMAND, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT)
    wall = time.perf_counter() - started
    report = json.loads((out / "prep_report.json").read_text(encoding="utf-8"))
    return {"wall_s": round(wall, 2), **report["timing"],
            "rows": sum(split["samples"] for split in report["splits"].values())}


def measure(chars: float) -> dict:
    folder = corpus(chars)
    load_before = os.getloadavg()[0]
    reference = reference_pass(folder)
    prep = prep_run(folder)
    return {"target_chars": int(chars), **shape(folder), "reference_s": round(reference["seconds"], 2),
            "reference_methods_s": {k: round(v, 2) for k, v in reference["methods"].items()},
            "tokens": reference["tokens"], "prep": prep,
            "ratio": round(prep["wall_s"] / reference["seconds"], 2),
            "stage_ratios": {name: round(s / reference["seconds"], 2) for name, s in prep["seconds"].items()},
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def idle_estimate(prep: dict) -> float:
    """Wall seconds on idle cores: the main process's CPU seconds, plus the workers' stages spread
    evenly over the workers (a slight underestimate: the largest conversation ends alone)."""
    cpu = prep["cpu_seconds"]
    main = sum(seconds for stage, seconds in cpu.items() if stage not in WORKER_STAGES)
    return round(main + sum(cpu[stage] for stage in WORKER_STAGES) / prep["workers"], 1)


def machine() -> dict:
    import tokenizers

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "tokenizers": tokenizers.__version__}


def markdown(results: dict) -> str:
    m = results["machine"]
    runs = sorted(results["runs"].values(), key=lambda r: r["target_chars"])
    stages = list(runs[0]["prep"]["seconds"]) if runs else []
    lines = ["# Prep speed: the whole command against one parallel tokenizer pass", "",
             f"`python -m bench.prep_speed` on {m['cores']} CPU cores ({m['cpu']}), Python {m['python']}, tokenizers "
             f"{m['tokenizers']}; `prep.build {' '.join(COMMAND)}` with every core (`--workers` default), SmolLM2's "
             "tokenizer, a fresh process per run (imports included, warm bytecode cache). Reference: one tokenizer pass "
             "over the same message texts with the tokenizer's thread pool on (the faster of `encode_batch` and "
             "`encode_batch_fast`).", "",
             "On a shared machine the wall times carry other processes' load (the load average of the "
             f"{m['cores']} cores is beside them); the CPU seconds do not, and the last column turns them into wall "
             "seconds on idle cores: the main process's stages, plus the worker stages (anonymise, languages, build) "
             "spread over the workers.", "",
             "| characters | conversations (median / largest chars) | messages | pairs | rows | reference s | prep wall s "
             "| prep / reference | load average before / after | prep CPU s | on idle cores, s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['characters']:,} | {r['conversations']} ({r['median_conversation']:,} / "
                     f"{r['largest_conversation']:,}) | {r['messages']:,} | {r['pairs']:,} | {r['prep']['rows']:,} "
                     f"| {r['reference_s']} | {r['prep']['wall_s']} | {r['ratio']} "
                     f"| {r['load_average'][0]} / {r['load_average'][1]} | {r['prep']['cpu_total']} "
                     f"| {idle_estimate(r['prep'])} |")
    lines += ["", "Stage wall seconds (CPU seconds of prep and its workers) and their ratio to the reference pass:", "",
              "| characters | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for r in runs:
        cells = [f"{r['prep']['seconds'][s]} ({r['prep']['cpu_seconds'][s]}) ×{r['stage_ratios'][s]}" for s in stages]
        lines.append(f"| {r['characters']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(f"{s:g}" for s in SIZES), help="corpus sizes in characters")
    parser.add_argument("--redo", action="store_true", help="measure sizes that already have results again")
    args = parser.parse_args(argv)
    path = RESULTS / "prep_speed.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results = {"machine": machine(), "runs": results.get("runs", {})}
    if not (WORK / "pycache").exists():
        prep_run(corpus(min(SIZES)))  # fills the bytecode cache
    for chars in (float(s) for s in args.sizes.split(",")):
        key = str(int(chars))
        if key in results["runs"] and not args.redo:
            continue
        results["runs"][key] = {**measure(chars), "manifest": manifest({"chars": chars})}
        print(json.dumps(results["runs"][key]), flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")  # after each size: a stopped run resumes
    (RESULTS / "prep_speed.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
