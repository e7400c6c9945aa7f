"""bench.quality --quick: both real datasets, every run, one table; resumable; the notebook renders it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bench import quality

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "compare_runs.ipynb"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    if not (ROOT / "../shared/data/rumoureval-2019").exists():
        pytest.skip("the public datasets are not beside the repository (../shared/data)")
    work = tmp_path_factory.mktemp("quality")
    argv = ["--quick", "--work", str(work / "runs"), "--data", str(work / "data")]
    return work, argv, quality.main(argv)


def test_every_dataset_has_every_run_on_the_same_pairs(quick):
    work, _, results = quick
    written = json.loads((work / "runs" / "quality.json").read_text())
    assert written == json.loads(json.dumps(results))
    assert set(written) == set(quality.DATASETS)
    for dataset, runs in written.items():
        assert list(runs) == [run.name for run in quality.RUNS]
        assert len({r["n"] for r in runs.values()}) == 1, f"{dataset}: runs scored on different pairs"
        for name, r in runs.items():
            assert set(r) == {"f1", "f1_ci", "mcc", "mcc_ci", "precision", "recall", "accuracy", "n", "roc_auc",
                              "roc_auc_ci", "train_seconds", "score_seconds"}
            assert r["f1_ci"][0] <= r["f1"] <= r["f1_ci"][1] and r["mcc_ci"][0] <= r["mcc"] <= r["mcc_ci"][1], name
            assert (r["roc_auc"] is None) == (name == "always-yes"), name  # every model gives P(yes)
        floor = runs["always-yes"]
        assert floor["precision"] > 0, f"{dataset}: the quick sample has no 'yes' pair to score"
        assert floor["recall"] == 1.0 and floor["precision"] == pytest.approx(floor["accuracy"])
        assert floor["f1"] == pytest.approx(2 * floor["precision"] / (1 + floor["precision"]))
        assert all(runs[name]["train_seconds"] > 0 for name in ("smollm2-lora", "smollm2-lora-focus", "cross-encoder", "bi-encoder"))
    table = (work / "runs" / "quality.md").read_text()
    assert table.count("| always-yes |") == len(quality.DATASETS)


def test_a_rerun_skips_finished_runs(quick):
    work, argv, results = quick
    predictions = sorted((work / "runs").glob("*/*/predictions.jsonl"))
    stamps = [p.stat().st_mtime_ns for p in predictions]
    assert quality.main(argv) == results
    assert quality.main(argv + ["--runs", "always-yes"]) == results  # one row asked for: the table keeps all
    assert [p.stat().st_mtime_ns for p in predictions] == stamps


def test_the_notebook_renders_the_quality_table_and_plot(quick, monkeypatch):
    work, _, _ = quick
    runs = sorted(p.parent for p in (work / "runs" / "rumoureval").glob("*/metrics.json"))
    monkeypatch.setenv("STANCE_RUNS", os.pathsep.join(map(str, runs[:2])))
    monkeypatch.setenv("STANCE_QUALITY", str(work / "runs" / "quality.json"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    last = notebook.cells[-1].outputs
    html = "".join(o.get("data", {}).get("text/html", "") for o in last)
    assert "always-yes" in html and "smollm2-lora" in html and "csd" in html
    assert any("image/png" in o.get("data", {}) for o in last)
