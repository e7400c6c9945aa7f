"""What made a result: the code's commit, the config, the data, the package versions, the seed and
the hardware. Every command that writes results puts one under the key "manifest" of what it
writes (run.json, metrics.json, bench results), and bench compares it before reusing a run.

    python -m core.manifest RUN_DIR [--config FILE] [--data FILE ...] [--seed N]

writes RUN_DIR/manifest.json for runs another program makes (`axolotl train`, in the Makefile).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from core.cli import UserError, run_cli

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 1
# The stack a result depends on; the ones not installed are left out.
PACKAGES = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "axolotl", "sentence-transformers",
            "scikit-learn", "numpy", "tokenizers")
# What must match for a finished run to stand for a new one. The commit is recorded, not compared:
# results carry the commit they were made at, and a change elsewhere in the tree need not redo them.
COMPARED = ("config_sha256", "data_sha256", "seed", "versions")


def git_state(root: Path = ROOT) -> dict:
    """The commit and whether tracked files differ from it; nulls outside a git checkout."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def sha256_of(source) -> str | None:
    """One hash of a config (a file, or a dict as sorted JSON) or of data files in the order given."""
    if source is None:
        return None
    digest = hashlib.sha256()
    if isinstance(source, dict):
        digest.update(json.dumps(source, sort_keys=True, default=str).encode("utf-8"))
        return digest.hexdigest()
    for path in [source] if isinstance(source, (str, Path)) else source:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def hardware() -> dict:
    """CPU model and cores; the GPUs where torch is already loaded (never imported just to ask)."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpus = []
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"cpu": cpu, "cores": os.cpu_count(), "gpus": gpus}


def manifest(config=None, data=(), seed: int | None = None) -> dict:
    return {"schema_version": SCHEMA_VERSION, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": [Path(sys.argv[0]).name, *sys.argv[1:]], **git_state(),
            "config_sha256": sha256_of(config), "data_sha256": sha256_of(list(data)) if data else None,
            "seed": seed, "versions": versions(), "hardware": hardware()}


def write_manifest(directory: str | Path, config=None, data=(), seed: int | None = None) -> dict:
    record = manifest(config, data, seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def differences(recorded: dict | None, current: dict) -> list[str]:
    """The compared fields in which a recorded manifest differs from the current one, worded."""
    if recorded is None:
        return ["no manifest"]
    changed = []
    for name in COMPARED:
        old, new = recorded.get(name), current.get(name)
        if name == "versions":
            changed += [f"{package} {old.get(package)} -> {new.get(package)}"
                        for package in sorted(set(old or {}) | set(new or {})) if (old or {}).get(package) != (new or {}).get(package)]
        elif old != new:
            changed.append(f"{name} {str(old)[:12]} -> {str(new)[:12]}")
    return changed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--data", type=Path, nargs="*", default=[])
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    missing = [str(p) for p in [args.config, *args.data] if p is not None and not p.is_file()]
    if missing:
        raise UserError(f"not found: {', '.join(missing)}")
    return write_manifest(args.run_dir, args.config, args.data, args.seed)


if __name__ == "__main__":
    run_cli(main)
