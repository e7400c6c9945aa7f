"""Everything a lent GPU needs for `bench/gpu_day/run.sh`, in the ignored folder `.gpu_day/`.

    python -m bench.gpu_day.pack                 # wheels, tokenizer, data slices, size check
    python -m bench.gpu_day.pack --no-wheels --only mistral_snippet_1gpu   # what the CPU dry run needs

- `wheels/`: `bench/gpu_day/wheels.txt`, downloaded (no dependencies: that file is the closure)
  for the device's Python 3.12 on x86-64 Linux. bitsandbytes ships a kernel library per CUDA and
  ROCm version (41 MiB); only the one for the device's CUDA is kept.
- `tokenizer/`: Mistral-7B-Instruct-v0.2's tokenizer (`python -m prep.mistral_tokenizer`).
- `data/NAME/`: per run of `bench.gpu_day.configs`, its header's `prep.build` command on the demo
  tables with that tokenizer, cut to the longest rows its 3 steps train on, and its prep report.
  prep itself cannot run there: its language detector (lingua) is 292 MiB installed.

Then the size check: the working tree (tracked and untracked-not-ignored files) plus `.gpu_day/`
must fit the 64 MiB that travels with the command; over it, this exits 1 with the total and
the largest things to drop. `manifest.json` records what was packed.

`mistral_tokenizer` and `demo_slice` find the same inputs for tests/test_gpu_mistral_settings.py:
the packed ones where they travelled (the device), else made here as the pack makes them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from bench.gpu_day.configs import ORDER, data_dir_name, device_runs, rows_needed
from core.manifest import git_state
from plan.run_config import ROOT, Run

PACK = ROOT / ".gpu_day"
WHEEL_LIST = Path(__file__).with_name("wheels.txt")
LIMIT = 64 * 1024**2
MiB = 1024**2
DEVICE_CUDA = "130"  # the device's torch is 2.11.0+cu130: bitsandbytes loads libbitsandbytes_cuda130.so
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64", "any")
DEMO = ROOT / "data" / "demo"
# Published as source only; pure Python, so the wheel built here installs there.
SOURCE_ONLY = {"axolotl-contribs-lgpl", "axolotl-contribs-mit"}


def wheel_pins() -> list[str]:
    lines = (line.split("#")[0].strip() for line in WHEEL_LIST.read_text().splitlines())
    return [line for line in lines if line]


def download(pins: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    have = {w.name.split("-")[0].lower().replace("_", "-") + "==" + w.name.split("-")[1] for w in folder.glob("*.whl")}
    missing = [p for p in pins if p.lower().replace("_", "-") not in have]
    if not missing:
        return
    source = [p for p in missing if p.split("==")[0] in SOURCE_ONLY]
    binary = [p for p in missing if p not in source]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    if binary:
        subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
                        "--implementation", "cp", "--abi", "cp312", "--abi", "abi3", "--abi", "none", *platforms,
                        "-d", str(folder), *binary], check=True)
    if source:
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), *source], check=True)


def slim_bitsandbytes(folder: Path) -> None:
    """Rewrites the bitsandbytes wheel without the kernel libraries of other CUDA/ROCm/XPU versions."""
    for wheel in folder.glob("bitsandbytes-*.whl"):
        def unused(name: str) -> bool:
            return "/libbitsandbytes_" in name and not name.endswith((f"_cuda{DEVICE_CUDA}.so", "_cpu.so"))

        with zipfile.ZipFile(wheel) as source:
            names = source.namelist()
            if not any(map(unused, names)):
                continue
            slim = wheel.with_suffix(".slim")
            with zipfile.ZipFile(slim, "w", zipfile.ZIP_DEFLATED) as target:
                for name in names:
                    if unused(name):
                        continue
                    data = source.read(name)
                    if name.endswith(".dist-info/RECORD"):
                        data = b"".join(line for line in data.splitlines(keepends=True)
                                        if not unused(line.split(b",")[0].decode()))
                    target.writestr(source.getinfo(name), data)
        slim.replace(wheel)


def tokenizer(folder: Path) -> None:
    from prep.mistral_tokenizer import DEFAULT_DIR, materialise

    source = materialise(ROOT / DEFAULT_DIR)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder)


def prepare(runs: list[Run], folder: Path, tokenizer: Path) -> None:
    """Each run's data as its header prepares it, on the demo tables; the longest rows it trains on."""
    for run in runs:
        name = data_dir_name(run)
        out = folder / name
        if (out / "train.jsonl").is_file():
            continue
        full = ROOT / "data" / "prepared" / "gpu-day" / name
        if not (full / "train.jsonl").is_file():
            args = {**run.prep_args, "--messages": str(DEMO / "messages.jsonl"),
                    "--stances": str(DEMO / "stances.jsonl"), "--tokenizer": str(tokenizer), "--out": str(full)}
            subprocess.run([sys.executable, "-m", "prep.build", *[w for k, v in args.items() for w in (k, v) if w]],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        rows = (full / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
        rows.sort(key=lambda row: -json.loads(row)["meta"]["n_tokens"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "train.jsonl").write_text("".join(rows[:rows_needed(run)]), encoding="utf-8")
        shutil.copy(full / "prep_report.json", out / "prep_report.json")


def mistral_tokenizer() -> Path:
    """Mistral's tokenizer folder: the packed copy where one travelled (the device has no mistral-common), else made here."""
    from prep.mistral_tokenizer import COMPLETE_MARKER, DEFAULT_DIR, materialise

    packed = PACK / "tokenizer"
    return packed if (packed / COMPLETE_MARKER).is_file() else materialise(ROOT / DEFAULT_DIR)


def prep_runs_here() -> bool:
    """prep.build needs its language detector, which does not travel."""
    return importlib.util.find_spec("lingua") is not None


def demo_slice(run: Run, folder: Path, tokenizer: Path) -> Path:
    """The run's train.jsonl as `prepare` makes it: made into `folder` where prep.build runs, else the packed one."""
    if prep_runs_here():
        prepare([run], folder, tokenizer)
        return folder / data_dir_name(run) / "train.jsonl"
    packed = PACK / "data" / data_dir_name(run) / "train.jsonl"
    if not packed.is_file():
        raise FileNotFoundError(f"{packed}: prep.build cannot run here (no lingua) and no run with this data was "
                                "packed: run python -m bench.gpu_day.pack where it can")
    return packed


def tree_bytes() -> int:
    """What travels from the checkout: tracked files and untracked files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    return sum((ROOT / name).stat().st_size for name in set(listed) if name and (ROOT / name).is_file())


def sizes(folder: Path) -> dict[str, int]:
    """Bytes per wheel, and per other top-level entry of the pack."""
    out = {}
    for item in sorted(folder.iterdir()):
        if item.name == "wheels":
            out.update({f"wheels/{w.name}": w.stat().st_size for w in sorted(item.glob("*.whl"))})
        elif item.name != "manifest.json":
            out[item.name] = sum(f.stat().st_size for f in item.rglob("*") if f.is_file()) if item.is_dir() else item.stat().st_size
    return out


def size_check(folder: Path) -> dict:
    tree, packed = tree_bytes(), sizes(folder)
    total = tree + sum(packed.values())
    summary = {"tree_bytes": tree, "pack_bytes": packed, "total_bytes": total, "limit_bytes": LIMIT}
    print(f"working tree {tree / MiB:.2f} MiB + .gpu_day {sum(packed.values()) / MiB:.2f} MiB "
          f"= {total / MiB:.2f} MiB of {LIMIT / MiB:.0f} MiB")
    for name, size in sorted(packed.items(), key=lambda item: -item[1]):
        print(f"  {size / MiB:7.2f} MiB  {name}")
    if total > LIMIT:
        over, drop = total - LIMIT, []
        for name, size in sorted(packed.items(), key=lambda item: -item[1]):
            if over <= 0:
                break
            drop.append(name)
            over -= size
        raise SystemExit(f"{total / MiB:.2f} MiB would travel, over the {LIMIT / MiB:.0f} MiB limit by "
                         f"{(total - LIMIT) / MiB:.2f} MiB: drop {', '.join(drop)} (or shrink the tree)")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-wheels", action="store_true", help="tokenizer and data only (the CPU dry run)")
    parser.add_argument("--only", nargs="+", choices=ORDER, help="prepare these runs' data only")
    args = parser.parse_args(argv)
    PACK.mkdir(exist_ok=True)
    if not args.no_wheels:
        download(wheel_pins(), PACK / "wheels")
        slim_bitsandbytes(PACK / "wheels")
    tokenizer(PACK / "tokenizer")
    runs = device_runs(PACK / "model", PACK / "data", PACK / "work", cpu=False, only=args.only)
    prepare([r.run for r in runs], PACK / "data", PACK / "tokenizer")
    summary = size_check(PACK)
    (PACK / "manifest.json").write_text(json.dumps({"commit": git_state()["commit"] or "", **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
