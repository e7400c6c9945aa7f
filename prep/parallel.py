"""Per-conversation work on worker processes, merged in input order, with a progress bar.

Every stage that takes time (anonymisation, language detection, build) works conversation by
conversation, and a conversation's result depends on nothing else, so `ordered_map` hands
conversations to forked workers and returns their results in task order: the output is
byte-identical whatever the number of workers. Heavy read-only state (recognizers, word lists,
the tokenizer and its chat-template counts) is built in the parent before the fork and shared by
the workers as it is; only tasks and results are pickled.

Thread pools of the Rust libraries stay off: `tokenizers`' (`single_threaded_tokenizers`) and
lingua's (its single-text call). The workers already use every core, and a pool that has run in
the parent is unusable in a forked child (tokenizers then turns it off there, with a warning;
other libraries can hang). Tokenizer parallelism is safe only in a process that forks nothing
after using it, which is how the benchmark's reference pass uses it.
"""

from __future__ import annotations

import os
from multiprocessing import get_context
from typing import Callable, Iterable, TypeVar

from tqdm import tqdm

Task = TypeVar("Task")
_installed: tuple[Callable, object] | None = None  # (function, shared state) in a worker


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def single_threaded_tokenizers() -> None:
    """Keep `tokenizers` from starting its thread pool (it reads this variable on every call)."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _install(function: Callable, shared: object) -> None:
    global _installed
    _installed = (function, shared)


def _run(task):
    function, shared = _installed
    return function(shared, task)


def ordered_map(function: Callable[[object, Task], object], shared: object, tasks: Iterable[Task], workers: int,
                progress: dict, weights: Iterable[int] | None = None) -> list:
    """[function(shared, task) for each task], in task order, on `workers` forked processes (in
    this process when 1). `progress` holds tqdm's desc, unit and total; each finished task
    advances the bar by its weight (1 unless `weights` says otherwise)."""
    tasks = list(tasks)
    weights = list(weights) if weights is not None else [1] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        return _collect((function(shared, task) for task in tasks), weights, progress)
    # forked workers inherit `shared` (recognizers, tokenizer) and the function without pickling them
    with get_context("fork").Pool(min(workers, len(tasks)), initializer=_install, initargs=(function, shared)) as pool:
        return _collect(pool.imap(_run, tasks), weights, progress)


def _collect(results: Iterable, weights: list[int], progress: dict) -> list:
    collected = []
    with tqdm(**progress, dynamic_ncols=True) as bar:
        for result, weight in zip(results, weights):
            collected.append(result)
            bar.update(weight)
    return collected
