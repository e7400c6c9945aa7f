"""Every run config passes Axolotl 0.21's own validation on its header's hardware and the run
rules; each known defect of the seed config, put back into mistral_snippet.yml, fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from core.cli import UserError
from plan import config_for_data
from plan.architecture import KNOWN_ARCHITECTURES
from plan.run_config import ROOT, axolotl_validate, load_run, problems
from prep.strategies import STRATEGIES

CONFIGS = sorted((ROOT / "axolotl_configs").glob("*.yml"))
MAIN = ROOT / "axolotl_configs" / "mistral_snippet.yml"

DATA = {"datasets", "dataset_prepared_path", "output_dir"}
# What each member of the family may change relative to mistral_snippet.yml.
FAMILY = {
    "mistral_full": DATA, "mistral_truncate": DATA, "mistral_focus": DATA, "mistral_summarise": DATA,
    "mistral_snippet_multi": DATA,
    "mistral_snippet_lora_bf16": {"adapter", "load_in_4bit", "deepspeed", "output_dir"},
    "mistral_snippet_32k": DATA | {"sequence_len", "deepspeed", "plugins", "liger_fused_linear_cross_entropy"},
    "mistral_snippet_1gpu": {"deepspeed", "context_parallel_size", "output_dir"},
    "mistral_snippet_ray": {"output_dir", "use_ray", "ray_num_workers", "resources_per_worker"},
}


def failures(path: Path) -> list[str]:
    """Axolotl's validation error, if any, plus the run-rule problems."""
    run = load_run(path)
    try:
        axolotl_validate(run)
        found = []
    except Exception as error:
        found = [f"axolotl: {error}"]
    return found + problems(run)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_passes_axolotl_validation_and_run_rules(path, model_dir):
    run = load_run(path)
    _, warnings = axolotl_validate(run)
    assert not [w for w in warnings if "deprecat" in w.lower()]
    assert problems(run) == []


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_referenced_files_exist(path, model_dir):
    run = load_run(path)
    base = run.cfg["base_model"]
    assert base in KNOWN_ARCHITECTURES or (ROOT / base / "config.json").is_file()
    if run.cfg.get("deepspeed"):
        assert (ROOT / run.cfg["deepspeed"]).is_file()
    assert run.cfg["datasets"][0]["path"].startswith(run.prep_args["--out"] + "/")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_deepspeed_batch_and_overlength_policy_are_explicit(path):
    run = load_run(path)
    assert run.cfg["excess_length_strategy"] in ("raise", "truncate", "drop")
    for field in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size"):
        value = (run.deepspeed or {}).get(field, "auto")
        want = {"train_micro_batch_size_per_gpu": run.micro_batch, "gradient_accumulation_steps": run.accumulation,
                "train_batch_size": run.micro_batch * run.accumulation * run.world_size // run.context_parallel}
        assert value in ("auto", want[field])


def test_family_differs_from_the_main_run_only_where_it_says():
    main = load_run(MAIN).cfg
    for name, allowed in FAMILY.items():
        cfg = load_run(ROOT / "axolotl_configs" / f"{name}.yml").cfg
        changed = {k for k in main.keys() | cfg.keys() if main.get(k) != cfg.get(k)}
        assert changed <= allowed, (name, changed - allowed)


def test_every_prep_strategy_and_the_multi_layout_have_a_run():
    runs = [load_run(p) for p in CONFIGS if p.name.startswith("mistral_")]
    assert set(STRATEGIES) <= {r.prep_args["--strategy"] for r in runs}
    assert any(r.prep_args.get("--layout") == "multi" for r in runs)


def test_readme_table_lists_every_run_with_its_command():
    readme = (ROOT / "axolotl_configs" / "README.md").read_text()
    for path in CONFIGS:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{path.name}`")), "")
        assert " ".join(load_run(path).command) in row, path.name


def test_deepspeed_readme_gives_each_config_a_line():
    readme = (ROOT / "deepspeed" / "README.md").read_text()
    for path in (ROOT / "deepspeed").glob("*.json"):
        json.loads(path.read_text())
        assert f"`{path.name}`" in readme


def write_variant(tmp_path: Path, edit) -> Path:
    """mistral_snippet.yml with `edit` applied to its settings; the header is kept as it is."""
    text = MAIN.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    cfg = yaml.safe_load(text)
    edit(cfg, tmp_path)
    out = tmp_path / MAIN.name
    out.write_text(header + yaml.safe_dump(cfg, sort_keys=False))
    return out


def seed_deepspeed(cfg, tmp_path):
    ds = json.loads((ROOT / cfg["deepspeed"]).read_text())
    ds.update(train_micro_batch_size_per_gpu=1, gradient_accumulation_steps=8, train_batch_size=16)
    (tmp_path / "seed_ds.json").write_text(json.dumps(ds))
    cfg["deepspeed"] = str(tmp_path / "seed_ds.json")


def swap(cfg, old, new, value):
    cfg.pop(old)
    cfg[new] = value


SEED_DEFECTS = {
    "learning_rate missing": (lambda c, t: c.pop("learning_rate"), "learning_rate"),
    "lora with load_in_4bit": (lambda c, t: c.update(adapter="lora"), "adapter: qlora"),
    "flash_attention deprecated": (lambda c, t: swap(c, "attn_implementation", "flash_attention", True), "flash_attention"),
    "sequence_parallel_degree deprecated": (lambda c, t: swap(c, "context_parallel_size", "sequence_parallel_degree", 2),
                                            "sequence_parallel_degree"),
    "train_batch_size 16 = 1 x 8 x 2": (seed_deepspeed, "train_batch_size"),
    "device_map under ZeRO-3": (lambda c, t: c.update(device_map="sequential"), "device_map"),
    "embed/lm_head modules_to_save": (lambda c, t: c.update(lora_modules_to_save=["embed_tokens", "lm_head"]),
                                      "lora_modules_to_save"),
    "is_mistral_derived_model internal": (lambda c, t: c.update(is_mistral_derived_model=True), "is_mistral_derived_model"),
    "over-length policy implicit": (lambda c, t: c.pop("excess_length_strategy"), "excess_length_strategy"),
    "system message": (lambda c, t: c.update(default_system_message="You are a stance classifier."), "system role"),
    "misspelt option": (lambda c, t: c.update(lora_dropuot=0.1), "lora_dropuot"),
    "header batch arithmetic stale": (lambda c, t: c.update(gradient_accumulation_steps=16), "batch arithmetic"),
    "data prepared for another window": (lambda c, t: c.update(sequence_len=4096), "--sequence-len"),
}


def test_unchanged_copy_passes(tmp_path):
    assert failures(write_variant(tmp_path, lambda c, t: None)) == []


@pytest.mark.parametrize("name", SEED_DEFECTS)
def test_seed_defect_fails(tmp_path, name):
    edit, expected = SEED_DEFECTS[name]
    found = failures(write_variant(tmp_path, edit))
    assert any(expected in f for f in found), found


def test_seed_config_as_printed_fails_on_every_defect(tmp_path):
    """All the seed's settings at once: the global batch it claims (16) is not the one it gets (8)."""
    def seed(cfg, tmp):
        for name in ("lora with load_in_4bit", "flash_attention deprecated", "sequence_parallel_degree deprecated",
                     "train_batch_size 16 = 1 x 8 x 2", "device_map under ZeRO-3", "embed/lm_head modules_to_save",
                     "is_mistral_derived_model internal", "over-length policy implicit", "learning_rate missing"):
            SEED_DEFECTS[name][0](cfg, tmp)
    found = failures(write_variant(tmp_path, seed))
    assert re.search(r"train_batch_size=16, but the run gives 8", "\n".join(found))
    assert len(found) >= 9, found


def test_config_for_data_points_the_recipe_at_a_prepared_folder_and_keeps_the_rest(tmp_path):
    recipe = yaml.safe_load((ROOT / "axolotl_configs" / "smollm2_cpu.yml").read_text())
    prepared = tmp_path / "mine"
    with pytest.raises(UserError, match="no prep_report.json"):
        config_for_data.retarget(recipe, prepared, tmp_path / "run")
    prepared.mkdir()
    (prepared / "prep_report.json").write_text(json.dumps({"settings": {"sequence_len": 2048}}))
    with pytest.raises(UserError, match="no train.jsonl"):
        config_for_data.retarget(recipe, prepared, tmp_path / "run")
    (prepared / "train.jsonl").write_text("{}\n")
    config = config_for_data.retarget(recipe, prepared, tmp_path / "run")
    assert config["datasets"][0]["path"] == str(prepared / "train.jsonl") and config["sequence_len"] == 2048
    assert config["output_dir"] == str(tmp_path / "run" / "adapter")
    changed = ("datasets", "sequence_len", "dataset_prepared_path", "output_dir")
    assert {k: v for k, v in config.items() if k not in changed} == {k: v for k, v in recipe.items() if k not in changed}
