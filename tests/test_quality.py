"""bench.quality --quick: the real datasets (IAC too), every run, one table; resumable; the notebook renders it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from bench import quality

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "compare_runs.ipynb"
QUICK_DATASETS = ["rumoureval", "csd", "iac"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    if not all((ROOT / "../shared/data" / name).exists() for name in ("rumoureval-2019", "iac-4forums-dev")):
        pytest.skip("the public datasets are not beside the repository (../shared/data)")
    work = tmp_path_factory.mktemp("quality")
    argv = ["--quick", "--work", str(work / "runs"), "--data", str(work / "data"), "--datasets", *QUICK_DATASETS]
    return work, argv, quality.main(argv)


def test_every_dataset_has_every_run_on_every_pair_or_the_llm_sample(quick):
    work, _, results = quick
    written = json.loads((work / "runs" / "quality.json").read_text())["datasets"]
    assert {d: s["runs"] for d, s in written.items()} == json.loads(json.dumps(results))
    assert list(written) == QUICK_DATASETS
    for dataset, section in written.items():
        runs = section["runs"]
        assert list(runs) == [run.name for run in quality.RUNS if dataset in run.datasets]
        assert set(section["not_measured"]) == {run.name for run in quality.RUNS if dataset not in run.datasets}
        sample = section["evaluation"].get("sample")
        for sampled, evaluation in ((False, section["evaluation"]), (True, sample)):
            scored = {name: r["n"] for name, r in runs.items() if quality.RUN_BY_NAME[name].sampled == sampled}
            over_budget = evaluation["test"].get("over_budget", {}) if evaluation else {}  # a curve variant's misfits
            assert scored == {name: evaluation["test"]["pairs"] - over_budget.get(quality.RUN_BY_NAME[name].prep, 0)
                              for name in scored}, dataset
        for name, r in runs.items():  # every run on the LLM rows' sample too: the every-pair ones rescored there
            assert (r["on_sample"] is None) == quality.RUN_BY_NAME[name].sampled, (dataset, name)
            assert r["on_sample"] is None or r["on_sample"]["n"] == sample["test"]["pairs"], (dataset, name)
        p = sample["test"]["yes"] / sample["test"]["pairs"]
        assert runs["always-yes"]["on_sample"]["f1"] == pytest.approx(2 * p / (1 + p))
        for name, r in runs.items():
            assert r["f1_ci"][0] <= r["f1"] <= r["f1_ci"][1] and r["mcc_ci"][0] <= r["mcc"] <= r["mcc_ci"][1], name
            assert (r["roc_auc"] is None) == (name == "always-yes"), name  # every model gives P(yes)
            assert r["roc_auc"] is None or r["f1"] <= r["f1_best_threshold"] + 1e-9, name  # dev's threshold is one of them
            for group in ("conversation_chars", "contributor_messages"):  # every pair in one bucket
                assert sum(row["n"] for row in r["by_length"][group]) == r["n"], (name, group)
        floor = runs["always-yes"]
        assert floor["precision"] > 0, f"{dataset}: the quick sample has no 'yes' pair to score"
        assert floor["recall"] == 1.0 and floor["precision"] == pytest.approx(floor["accuracy"])
        assert floor["f1"] == pytest.approx(2 * floor["precision"] / (1 + floor["precision"]))
        assert all(r["train_seconds"] > 0 for name, r in runs.items() if "lora" in name or "encoder" in name)
    iac = written["iac"]
    assert iac["evaluation"]["test"]["left_out_by_sample"] == 0  # the encoders and floors: every IAC test pair
    csd = written["csd"]["evaluation"]
    assert csd["sample"]["test"]["pairs"] == min(25, csd["test"]["pairs"])  # --quick's LLM sample, or every pair
    assert iac["evaluation"]["panel"]["estimator"] == "pooled" and 0 < iac["evaluation"]["panel"]["f1"] <= 1
    assert written["rumoureval"]["evaluation"]["panel"] is None  # one label per pair: no panel
    windows = {name: run["windows"] for name, run in iac["runs"].items() if run["windows"] is not None}
    assert windows == {"tfidf-messages-1": 1, "tfidf-messages-4": 4, "tfidf-messages-16": 16, "tfidf-messages": "all",
                       "tfidf-messages-debate": "all", "bi-encoder-messages-1": 1, "bi-encoder-messages-4": 4,
                       "bi-encoder-messages": 2, "bi-encoder-messages-debate": 2}  # --quick caps the default 16 at 2
    lora_lengths = {(d, run): yaml.safe_load((work / "runs" / d / run / "axolotl.yml").read_text())["sequence_len"]
                    for d in QUICK_DATASETS for run in ("smollm2-lora-focus", "smollm2-lora-focus-512",
                                                        "smollm2-lora-focus-8192") if d in quality.RUN_BY_NAME[run].datasets}
    assert lora_lengths == {("rumoureval", "smollm2-lora-focus"): 512, ("csd", "smollm2-lora-focus"): 512,
                            ("iac", "smollm2-lora-focus"): 2048, ("iac", "smollm2-lora-focus-512"): 512,
                            ("iac", "smollm2-lora-focus-8192"): 8192}
    long_run = yaml.safe_load((work / "runs" / "iac" / "smollm2-lora-focus-8192" / "axolotl.yml").read_text())
    assert (long_run["micro_batch_size"], long_run["gradient_checkpointing"], long_run["max_steps"]) == (1, True, 2)
    budgets = {name: run["context_tokens"] for name, run in iac["runs"].items() if run["context_tokens"] is not None}
    assert budgets == {"smollm2-zero-shot-focus": 2048, "smollm2-lora-focus": 2048, "smollm2-zero-shot-focus-512": 512,
                       "smollm2-lora-focus-512": 512, "smollm2-zero-shot-focus-8192": 8192,
                       "smollm2-lora-focus-8192": 8192}  # the context-budget curve
    for dataset, section in written.items():  # the newcomers: every pair the contributor's record did not answer
        history = section["runs"]["contributor-history"]["history"]["test"]
        newcomers = {name: r["newcomers"]["n"] for name, r in section["runs"].items()
                     if r["newcomers"] and not quality.RUN_BY_NAME[name].sampled}
        assert set(newcomers.values()) <= {history["pairs"] - history["seen_before"]}, dataset
        assert bool(newcomers) == (0 < history["seen_before"] < history["pairs"]), dataset
    table = (work / "runs" / "quality.md").read_text()
    assert table.count("\n| run | F1 [95% CI] | precision |") == len(QUICK_DATASETS) and "| panel (ceiling) |" in table
    assert table.count("\nThe same ") == len(QUICK_DATASETS)
    assert table.count("\n| run | F1 [95% CI] | MCC [95% CI] | ROC AUC [95% CI] |") == \
        len(QUICK_DATASETS) + table.count("\nNewcomers: ")  # the same pairs, and the newcomers where any


def test_a_rerun_skips_finished_runs(quick):
    work, argv, results = quick
    written = sorted((work / "runs").glob("*/*/predictions.jsonl")) + sorted((work / "runs").glob("*/*/*/metrics.json"))
    stamps = [p.stat().st_mtime_ns for p in written]
    assert quality.main(argv) == results
    assert quality.main(argv + ["--runs", "always-yes"]) == results  # one row asked for: the table keeps all
    assert [p.stat().st_mtime_ns for p in written] == stamps
    alone = quality.main(argv[:-len(QUICK_DATASETS)] + ["csd"])  # one dataset: the others' sections stay
    assert alone == {"csd": results["csd"]}
    assert list(json.loads((work / "runs" / "quality.json").read_text())["datasets"]) == QUICK_DATASETS


def test_a_clone_without_the_runs_keeps_the_committed_rows_that_still_hold(tmp_path, capsys):
    """runs/ is not committed: a clone keeps each row whose recorded manifest matches what the run would be
    now, redoes one that does not, and keeps a row from before rows recorded one, marked."""
    floors = ["--quick", "--data", str(tmp_path / "data"), "--datasets", "csd", "--runs", "always-yes", "statement-prior"]
    made = quality.main([*floors, "--work", str(tmp_path / "made")])
    clone = json.loads((tmp_path / "made" / "quality.json").read_text())
    clone["datasets"]["csd"]["runs"]["always-yes"]["manifest"]["seed"] = 99
    del clone["datasets"]["csd"]["runs"]["statement-prior"]["manifest"]
    out = tmp_path / "results"
    out.mkdir()
    (out / "quality.json").write_text(json.dumps(clone))
    capsys.readouterr()
    kept = quality.main([*floors[:-1], "--work", str(tmp_path / "runs"), "--out", str(out)])  # --runs always-yes
    assert "csd / always-yes: the committed row is dropped, its manifest differs: seed 99 -> 0" in capsys.readouterr().out
    assert [p.parent.relative_to(tmp_path) for p in (tmp_path / "runs").glob("*/*/timing.json")] == \
        [Path("runs/csd/always-yes")]  # the other row came from the results file
    written = json.loads((out / "quality.json").read_text())["datasets"]["csd"]["runs"]
    del made["csd"]["statement-prior"]["manifest"]
    assert kept == {"csd": written} == made and list(written) == ["always-yes", "statement-prior"]
    table = (out / "quality.md").read_text()
    assert table.count("† |") == 1 and "† made before a row recorded its manifest" in table
    redone = quality.main([*floors[:-2], "statement-prior", "--work", str(tmp_path / "runs"), "--out", str(out)])
    assert "csd / statement-prior: the committed row is dropped, its manifest differs: no manifest" in capsys.readouterr().out
    assert (tmp_path / "runs" / "csd" / "statement-prior" / "timing.json").exists()  # named: the unchecked row redone
    assert redone["csd"]["statement-prior"]["manifest"] and "† |" not in (out / "quality.md").read_text()


def test_the_notebook_renders_the_quality_table_and_plots(quick, monkeypatch):
    work, _, _ = quick
    runs = sorted(p.parent for p in (work / "runs" / "rumoureval").glob("*/metrics.json"))
    monkeypatch.setenv("STANCE_RUNS", os.pathsep.join(map(str, runs[:2])))
    monkeypatch.setenv("STANCE_QUALITY", str(work / "runs" / "quality.json"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "always-yes" in html and "smollm2-lora" in html and "csd" in html and "bi-encoder-messages" in html
    assert sum("image/png" in o.get("data", {}) for o in outputs[-4:]) >= 2  # quality, and by length
    assert all("image/png" in o.get("data", {}) for o in outputs[-2:])  # the window curve, the context-budget curve


def test_a_finished_run_is_redone_when_its_manifest_differs(quick, capsys):
    work, argv, results = quick
    run_dir = work / "runs" / "csd" / "always-yes"
    assert results["csd"]["always-yes"]["commit"]  # the row names the commit it was made at
    recorded = json.loads((run_dir / "manifest.json").read_text())
    recorded["seed"] = 99
    (run_dir / "manifest.json").write_text(json.dumps(recorded))
    with pytest.raises(quality.UserError, match="csd / always-yes: seed 99 -> 0"):
        quality.main(argv + ["--no-rerun"])
    stamp = (run_dir / "predictions.jsonl").stat().st_mtime_ns
    capsys.readouterr()
    redone = quality.main(argv)
    assert "csd / always-yes: redone, its manifest differs: seed 99 -> 0" in capsys.readouterr().out
    for result in (redone, results):  # the same numbers; the commit it names is the one checked out now
        result["csd"]["always-yes"].pop("commit")
    assert redone == results
    assert (run_dir / "predictions.jsonl").stat().st_mtime_ns > stamp
    assert json.loads((run_dir / "manifest.json").read_text())["seed"] == 0


def test_a_run_stopped_part_way_resumes_while_its_manifest_holds(quick, monkeypatch, capsys):
    """Last in the module: it times the run again, which the table-equality tests above would see."""
    work, argv, results = quick
    run_dir, argv = work / "runs" / "csd" / "smollm2-zero-shot", argv + ["--runs", "smollm2-zero-shot"]
    finish = quality.call

    def stopped_at_test(args, log):
        if str(run_dir / "predictions.jsonl") in args:
            raise KeyboardInterrupt  # Ctrl-C, or the machine going away, while test is scored
        return finish(args, log)

    def start_and_stop() -> int:
        """The run as a new row, stopped after scoring dev; when dev was scored."""
        table = json.loads((work / "runs" / "quality.json").read_text())
        del table["datasets"]["csd"]["runs"]["smollm2-zero-shot"]  # no finished row stands for it
        (work / "runs" / "quality.json").write_text(json.dumps(table))
        for name in ("timing.json", "stages.json", "manifest.json"):
            (run_dir / name).unlink()
        monkeypatch.setattr(quality, "call", stopped_at_test)
        with pytest.raises(KeyboardInterrupt):
            quality.main(argv)
        monkeypatch.setattr(quality, "call", finish)
        assert not (run_dir / "timing.json").exists()
        return (run_dir / "dev_predictions.jsonl").stat().st_mtime_ns

    dev_scored = start_and_stop()
    resumed = quality.main(argv)["csd"]["smollm2-zero-shot"]
    assert (run_dir / "dev_predictions.jsonl").stat().st_mtime_ns == dev_scored  # dev was not scored again
    assert {k: resumed[k] for k in ("f1", "mcc", "n")} == {k: results["csd"]["smollm2-zero-shot"][k]
                                                           for k in ("f1", "mcc", "n")}
    dev_scored = start_and_stop()
    recorded = json.loads((run_dir / "manifest.json").read_text())  # written before the run's first step
    (run_dir / "manifest.json").write_text(json.dumps({**recorded, "seed": 99}))  # as if made of something else
    capsys.readouterr()
    quality.main(argv)
    assert "csd / smollm2-zero-shot: redone, its manifest differs: seed 99 -> 0" in capsys.readouterr().out
    assert (run_dir / "dev_predictions.jsonl").stat().st_mtime_ns > dev_scored
