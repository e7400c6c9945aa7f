"""The run-comparison notebook executes headlessly on two scored demo-derived runs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from eval import score
from test_eval_demo_runs import demo_runs  # noqa: F401  (fixture)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "compare_runs.ipynb"


def outputs_of(notebook, kind: str) -> list:
    return [o.get("data", {}).get(kind) or o.get("text") for cell in notebook.cells if cell.cell_type == "code"
            for o in cell.outputs if kind in o.get("data", {}) or (kind == "text/plain" and "text" in o)]


def test_compare_notebook_runs_and_shows_tables_plots_and_the_test(demo_runs, demo_dir, monkeypatch):
    folders = [demo_runs["runs"][name] for name in ("annotator_1", "annotator_2")]
    for folder in folders:
        score.main(["--predictions", str(folder / "predictions.jsonl"), "--messages", str(demo_dir / "messages.jsonl"),
                    "--stances", str(demo_dir / "stances.jsonl")])
    monkeypatch.setenv("STANCE_RUNS", os.pathsep.join(str(f) for f in folders))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    markdown = "\n".join(outputs_of(notebook, "text/markdown"))
    assert "| annotator_1 |" in markdown and "| annotator_2 |" in markdown
    assert "McNemar" in markdown and "discordant pairs" in markdown
    assert len(outputs_of(notebook, "image/png")) >= 2  # F1 bars and the reliability curves
    html = "\n".join(outputs_of(notebook, "text/html"))
    assert "start" in html and "middle" in html and "end" in html  # the position breakdown table
