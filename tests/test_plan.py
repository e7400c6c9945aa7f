"""`python -m plan`: the data, schedule, parameter, memory and setup report before training."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from plan import measured, report
from plan.architecture import KNOWN_ARCHITECTURES, Architecture, architecture
from plan.data import packed_bins
from plan.gpus import by_size, variant
from plan.measured import measured_run
from plan.memory import estimate, frozen_bytes, trainable_parameters
from plan.run_config import ROOT, Run, load_run
from plan.setups import epoch_seconds
from plan.speed import compute_seconds, offload_seconds, sequence_flops

SMOLLM2 = ROOT / "axolotl_configs" / "smollm2_cpu.yml"
MISTRAL = ROOT / "axolotl_configs" / "mistral_snippet.yml"


@pytest.fixture
def prepared(tmp_path, model_dir):
    """Rows in prep.build's contract for smollm2_cpu.yml (n_tokens from the real chat template),
    with a prep report carrying the header's prep settings."""
    from transformers import AutoTokenizer

    run = load_run(SMOLLM2)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    out = tmp_path / "prepared"
    out.mkdir()
    data = []
    for i in range(7):
        conversation = "\n".join(f"[{n}] 2024-03-01 09:0{n} user{n}: COE prices too high sia. " * (1 + i // 2) for n in range(1, 4))
        messages = [{"role": "user", "content": f"<conversation>\n{conversation}\n</conversation>\nDid user1 say so?"},
                    {"role": "assistant", "content": "yes" if i % 3 else "no"}]
        n_tokens = len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False))
        assert n_tokens <= run.cfg["sequence_len"]
        data.append({"messages": messages, "meta": {"conversation_id": f"c{i}", "statement_id": "s1", "contributor": "user1",
                                                    "label": messages[1]["content"], "n_tokens": n_tokens}})
    (out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    settings = {key[2:].replace("-", "_"): value for key, value in run.prep_args.items()}
    settings.update(sequence_len=run.cfg["sequence_len"], tokenizer=str(model_dir))
    (out / "prep_report.json").write_text(json.dumps({"settings": settings, "exclusions": {"counts": {"over_budget": 3}}}))
    return out / "train.jsonl"


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_plan_on_smollm2_reports_data_schedule_and_memory(prepared, model_dir, capsys):
    from transformers import AutoTokenizer

    summary = report.main([str(SMOLLM2), "--data", str(prepared)])[0]
    printed = capsys.readouterr().out
    data = rows(prepared)
    lengths = [r["meta"]["n_tokens"] for r in data]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    labelled = sum(len(tokenizer(r["messages"][-1]["content"], add_special_tokens=False)["input_ids"]) + 1 for r in data)

    assert summary["problems"] == []
    assert summary["samples"] == len(data) and summary["tokens"] == sum(lengths)
    assert summary["trainable_tokens"] == labelled
    assert summary["padding_without_packing"] == sum(64 * math.ceil(n / 64) - n for n in lengths)  # micro-batch 1
    run = load_run(SMOLLM2)
    assert summary["global_batch"] == run.micro_batch * run.accumulation
    assert summary["total_steps"] == run.cfg["max_steps"]
    assert summary["steps_per_epoch"] == math.ceil(len(data) / summary["global_batch"])
    for section in ("tokens per sample", "longer than sequence_len", "padding per epoch with packing",
                    "true global batch", "trainable", "Peak memory per device", "assumptions"):
        assert section in printed


def test_plan_flags_samples_over_sequence_len(prepared, tmp_path):
    data = rows(prepared)
    limit = load_run(SMOLLM2).cfg["sequence_len"]
    data[0]["meta"]["n_tokens"] = limit + 1
    over = tmp_path / "over" / "train.jsonl"
    over.parent.mkdir()
    over.write_text("".join(json.dumps(r) + "\n" for r in data))
    shutil.copy(prepared.parent / "prep_report.json", over.parent)
    summary = report.main([str(SMOLLM2), "--data", str(over)])[0]
    assert summary["over_length"] == 1
    assert any(f"exceed sequence_len {limit}" in p and "stops" in p for p in summary["problems"])


def test_plan_flags_data_prepared_for_another_run(prepared):
    report_path = prepared.parent / "prep_report.json"
    prep_report = json.loads(report_path.read_text())
    prep_report["settings"]["sequence_len"] += 256
    report_path.write_text(json.dumps(prep_report))
    summary = report.main([str(SMOLLM2), "--data", str(prepared)])[0]
    assert any(f"sequence_len {prep_report['settings']['sequence_len']}" in p for p in summary["problems"])


def test_plan_on_mistral_without_data_still_estimates(tmp_path, capsys):
    summary = report.main([str(MISTRAL), "--data", str(tmp_path / "missing.jsonl")])[0]
    assert "python -m prep.build" in capsys.readouterr().out
    assert any("prepared data missing" in p for p in summary["problems"])
    assert summary["global_batch"] == 8  # 2 GPUs / context parallel 2 = 1 data-parallel rank
    assert 0 < summary["peak_bytes_per_device"] < 80 * 1024**3


def peft_counts(config, lora: dict) -> tuple[int, int]:
    """peft's (trainable, total) on the meta device: no weights are allocated."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = get_peft_model(AutoModelForCausalLM.from_config(config), LoraConfig(**lora))
    trainable, total = model.get_nb_trainable_parameters()
    return trainable, total - trainable


@pytest.mark.parametrize("config_path", [SMOLLM2, MISTRAL], ids=["smollm2", "mistral-7b"])
def test_trainable_and_total_parameters_match_peft(config_path, model_dir):
    from transformers import AutoConfig, MistralConfig

    cfg = load_run(config_path).cfg
    arch = architecture(cfg["base_model"])
    if cfg["base_model"] in KNOWN_ARCHITECTURES:
        config = MistralConfig(hidden_size=arch.hidden, num_hidden_layers=arch.layers, num_attention_heads=arch.heads,
                               num_key_value_heads=arch.kv_heads, head_dim=arch.head_dim,
                               intermediate_size=arch.intermediate, vocab_size=arch.vocab,
                               tie_word_embeddings=arch.tied_embeddings)
    else:
        config = AutoConfig.from_pretrained(ROOT / cfg["base_model"])
    lora = {"r": cfg["lora_r"], "lora_alpha": cfg["lora_alpha"], "target_modules": cfg["lora_target_modules"]}
    trainable, frozen = peft_counts(config, lora)
    assert trainable_parameters(arch, cfg) == trainable
    assert arch.total_parameters == frozen


def test_packed_bins_respect_capacity_and_bounds():
    lengths = [700, 300, 1200, 50, 900, 1000, 400, 1500, 20, 640]
    bins = packed_bins(lengths, 2048)
    assert math.ceil(sum(lengths) / 2048) <= bins < len(lengths)
    assert packed_bins([1100] * 5, 2048) == 5  # no two fit together
    assert packed_bins([1024] * 6, 2048) == 3


def mistral_run(**changes) -> Run:
    run = load_run(MISTRAL)
    deepspeed = changes.pop("deepspeed_json", None)
    run.cfg.update(changes)
    if deepspeed is not None:
        run.cfg["deepspeed"] = deepspeed
    return run


def test_estimate_follows_quantisation_partitioning_and_context_parallelism():
    arch = architecture(load_run(MISTRAL).cfg["base_model"])
    offload, sharded, whole = (estimate(mistral_run(deepspeed_json=f"deepspeed/{name}.json"), arch, 8192)
                               for name in ("zero3_offload", "zero3", "zero2"))
    frozen = [dict(e.parts)[k] for e, k in ((offload, "frozen weights (gathered working set)"),
                                             (sharded, "frozen weights (gathered working set)"),
                                             (whole, "frozen weights"))]
    assert frozen[0] < frozen[1] < frozen[2]
    assert offload.host_bytes > 0 and whole.host_bytes == 0

    bf16 = estimate(mistral_run(adapter="lora", load_in_4bit=False, deepspeed_json="deepspeed/zero2.json"), arch, 8192)
    assert dict(bf16.parts)["frozen weights"] > 3.5 * frozen[2]  # NF4 is about a quarter of bf16

    halves = estimate(mistral_run(context_parallel_size=1), arch, 8192)
    assert halves.tokens_per_device == 2 * offload.tokens_per_device
    checkpoints = "layer inputs kept for recomputation"
    assert dict(halves.parts)[checkpoints] == 2 * dict(offload.parts)[checkpoints]


def test_modules_to_save_adds_whole_embedding_and_head():
    run = load_run(MISTRAL)
    arch: Architecture = architecture(run.cfg["base_model"])
    lora = trainable_parameters(arch, run.cfg)
    run.cfg["lora_modules_to_save"] = ["embed_tokens", "lm_head"]
    assert trainable_parameters(arch, run.cfg) - lora == 2 * arch.vocab * arch.hidden


def test_plans_several_runs_and_names_the_lightest_setup(tmp_path, capsys):
    one_gpu, seed, long = (ROOT / "axolotl_configs" / f"{name}.yml" for name in ("mistral_snippet_1gpu", "mistral_snippet",
                                                                                  "mistral_snippet_32k"))
    summaries = report.main([str(one_gpu), str(seed), str(long)])
    printed = capsys.readouterr().out
    assert [s["config"] for s in summaries] == [str(one_gpu), str(seed), str(long)]
    for summary in summaries[:2]:  # the 8K QLoRA work: one 24 GB GPU without DeepSpeed, as measured on the H200
        assert summary["setups"]["lightest"] == {"gpus": 1, "gpu_gb": 24, "deepspeed": False}
    assert summaries[1]["setups"]["offload_needed"] is False
    assert "CPU offload needed: no" in printed and "the run asks for 2 x 80 GB GPUs" in printed
    setups = summaries[2]["setups"]  # 32K: two 24 GB GPUs with context parallelism, or one 40 GB
    assert setups["1 GPU, no DeepSpeed"]["smallest_gpu_gb"] == 40
    assert next(v for k, v in setups.items() if k.startswith("as configured"))["smallest_gpu_gb"] == 24
    with pytest.raises(SystemExit):
        report.main([str(one_gpu), str(seed), "--data", str(tmp_path / "train.jsonl")])


@pytest.mark.parametrize("row", [r for r in measured.rows() if r["step_s"]], ids=lambda r: f"{r['adapter']}-{int(r['sequence_tokens'])}-{r['loss']}")
def test_step_time_within_ten_percent_of_each_measured_h200_step(row):
    run = measured_run(row)
    flops = sequence_flops(architecture(run.cfg["base_model"]), run.cfg["sequence_len"], checkpointing=True)
    assert compute_seconds(flops, by_size(141), devices=1) == pytest.approx(row["step_s"], rel=0.10)


def test_parameter_offload_adds_pcie_time_and_more_gpus_divide_compute():
    arch = architecture(load_run(MISTRAL).cfg["base_model"])
    lengths, gpu = [8000] * 16, by_size(80)
    offload = epoch_seconds(mistral_run(), arch, lengths, gpu)
    resident = epoch_seconds(mistral_run(deepspeed_json="deepspeed/zero3.json"), arch, lengths, gpu)
    assert offload - resident == pytest.approx(offload_seconds(frozen_bytes(load_run(MISTRAL).cfg, arch), 3 * 16, 2))
    alone = epoch_seconds(variant(load_run(MISTRAL), 1, None, 1), arch, lengths, gpu)
    assert alone == pytest.approx(2 * resident)

