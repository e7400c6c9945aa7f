"""A one-machine Ray cluster (the head is the only node), started and always stopped.

The Ray run's test and bench/ray_overhead.py train on it. Ray's worker processes take their
environment and working directory from the `ray start` that made their node, not from the
driver, so the head starts in the repository root with the offline settings the runs need.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).parent / "ray")
PR_SET_PDEATHSIG = 1
READY = "Ray runtime started."
NODE_ENV = {"HF_HUB_OFFLINE": "1", "AXOLOTL_DO_NOT_TRACK": "1", "DO_NOT_TRACK": "1",
            "TOKENIZERS_PARALLELISM": "false", "RAY_USAGE_STATS_ENABLED": "0"}


class Cluster(NamedTuple):
    address: str  # for RAY_ADDRESS
    head_pid: int  # `ray start --head --block`; every process of the node descends from it


def die_with_parent() -> None:
    """Run in the child before exec: SIGTERM when the process that started it dies, however it
    dies (Linux's PR_SET_PDEATHSIG), so a killed test or bench leaves no cluster behind."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_env() -> dict[str, str]:
    """The runs' offline settings; bytecode caching allowed, since a node that re-compiles Ray
    and its agents on every start can miss `ray start`'s fixed 30 s registration wait on a
    loaded 2-core machine."""
    env = {**os.environ, **NODE_ENV, "PATH": str(Path(RAY).parent) + os.pathsep + os.environ["PATH"]}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def start_head(num_cpus: int, log: Path, timeout_s: float) -> tuple[subprocess.Popen, str]:
    """`ray start --head --block` in the repository root; returns it and its address once ready."""
    port = free_port()
    command = [RAY, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
               f"--num-cpus={num_cpus}", "--num-gpus=0", "--include-dashboard=false",
               "--object-store-memory=100000000", "--disable-usage-stats"]
    with open(log, "w") as out:
        head = subprocess.Popen(command, cwd=ROOT, env=node_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=die_with_parent)
    deadline = time.monotonic() + timeout_s
    while READY not in log.read_text(errors="replace"):
        if head.poll() is not None or time.monotonic() > deadline:
            stop_head(head)
            raise RuntimeError(f"ray start failed:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(1)
    return head, f"127.0.0.1:{port}"


def stop_head(head: subprocess.Popen) -> None:
    """SIGTERM makes `ray start --block` stop every process of its node (Ray drains for up to 30 s)."""
    if head.poll() is None:
        head.terminate()
        try:
            head.wait(timeout=120)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()


@contextmanager
def local_ray_cluster(num_cpus: int, log_dir: Path, attempts: int = 2,
                      timeout_s: float = 180) -> Iterator[Cluster]:
    """Yields the running cluster; its node is stopped on exit, whatever happens.

    A first start on a busy machine can miss Ray's own registration deadline; the next one,
    with bytecode compiled, is quicker, hence `attempts`.
    """
    for attempt in range(1, attempts + 1):
        try:
            head, address = start_head(num_cpus, log_dir / f"ray_head_{attempt}.log", timeout_s)
            break
        except RuntimeError:
            if attempt == attempts:
                raise
    try:
        yield Cluster(address, head.pid)
    finally:
        stop_head(head)


def launch(config: Path, cluster: Cluster, log: Path) -> subprocess.Popen:
    """The CPU Ray run as the README launches it, on `cluster`; its output (the workers' too) to `log`."""
    env = {**node_env(), "RAY_ADDRESS": cluster.address, "RAY_CHDIR_TO_TRIAL_DIR": "0"}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "axolotl_ray_train.py"), str(config)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
