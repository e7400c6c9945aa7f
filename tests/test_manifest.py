"""Run manifests: what made a result, and which compared field differs when a run is reused."""

from __future__ import annotations

import json

import pytest

from core import manifest


def test_a_manifest_names_commit_config_data_versions_seed_and_hardware(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"a": 1}\n')
    record = manifest.manifest({"lr": 1e-4}, [data], seed=3)
    assert len(record["commit"]) == 40 and isinstance(record["dirty"], bool)
    assert record["config_sha256"] == manifest.sha256_of({"lr": 1e-4}) != manifest.sha256_of({"lr": 2e-4})
    assert record["data_sha256"] == manifest.sha256_of([data]) and record["seed"] == 3
    assert record["versions"]["python"] and record["versions"]["numpy"]
    assert record["hardware"]["cores"] >= 1 and record["hardware"]["gpus"] == []


def test_differences_name_each_compared_field_that_changed(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"a": 1}\n')
    old = manifest.manifest({"lr": 1e-4}, [data], seed=0)
    assert manifest.differences(old, manifest.manifest({"lr": 1e-4}, [data], seed=0)) == []
    data.write_text('{"a": 2}\n')
    new = manifest.manifest({"lr": 1e-4}, [data], seed=1)
    new["versions"]["torch"] = "0.0"
    changed = manifest.differences(old, new)
    assert [c.split()[0] for c in changed] == ["data_sha256", "seed", "torch"]
    assert manifest.differences(None, new) == ["no manifest"]


def test_the_command_line_writes_manifest_json_and_refuses_missing_files(tmp_path):
    config = tmp_path / "run.yml"
    config.write_text("seed: 0\n")
    manifest.main([str(tmp_path / "run"), "--config", str(config), "--seed", "0"])
    written = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert written["config_sha256"] == manifest.sha256_of(config)
    with pytest.raises(manifest.UserError, match="not found"):
        manifest.main([str(tmp_path / "run"), "--data", str(tmp_path / "missing.jsonl")])


def test_outside_a_checkout_the_commit_is_null(tmp_path):
    assert manifest.git_state(tmp_path) == {"commit": None, "dirty": None}
