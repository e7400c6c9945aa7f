"""Activation memory of one training step of a Llama/Mistral decoder with LoRA adapters.

Counted from what torch autograd keeps for the backward pass under transformers 5 and peft
(and bitsandbytes for QLoRA), per token unless named otherwise. The peak of a step is the
larger of two moments (`phases`):

- the loss: everything the layers keep (their inputs only, under gradient checkpointing),
  plus the loss's own tensors; with materialised logits these dominate long sequences;
- the backward of the top layer: the same store plus one layer's kept tensors (recomputed,
  under checkpointing) and the largest working set of its backward.

`tests/test_memory.py` measures both on CPU with tiny Mistral models (every allocation
counted by the profiler) and against the H200 measurements in `plan/measured_h200.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass

from plan.architecture import Architecture

FUSED_LOSSES = ("cut_cross_entropy", "liger_fused_linear_cross_entropy")

# Largest working set of one layer's backward beyond what the layer keeps, in bytes per token
# as (x hidden, x intermediate), by compute-dtype bytes and the last LoRA-targeted MLP
# projection in backward order. None: the gradient reaching the layer (d x hidden) and the MLP
# product's backward (its gradient and both factors' gradients, 3 d x intermediate). A LoRA
# adapter on an MLP projection adds the fp32 copies of its gradient (peft runs the adapter in
# fp32 and casts back) and, on down_proj, what the stopped recomputation still holds (the
# product and its fp32 copy). Measured on CPU with tiny Mistral models; tests/test_memory.py
# checks them at other sizes.
BACKWARD_STAGE = {
    2: {None: (2, 6), "gate_proj": (10, 8), "up_proj": (10, 12), "down_proj": (14, 6)},
    4: {None: (4, 12), "gate_proj": (4, 12), "up_proj": (4, 12), "down_proj": (16, 4)},
}


@dataclass(frozen=True)
class Step:
    """The settings of a training step that decide what autograd keeps."""

    dtype: int  # bytes of the compute dtype: 2 (bf16/fp16) or 4 (fp32)
    cuda: bool  # dropout keeps a bool mask on CUDA, the scaled noise (adapter dtype) on CPU
    targets: frozenset[str]
    rank: int
    dropout: bool
    checkpointing: bool
    attention: str  # sdpa | flash_attention_2 | eager
    loss: str  # "materialised" or one of FUSED_LOSSES
    micro_batch: int
    sequence: int  # padded length of the micro-batch
    context_parallel: int = 1

    @property
    def tokens(self) -> int:
        """Tokens on one device: Ulysses splits each sequence over the context-parallel ranks."""
        return self.micro_batch * self.sequence // self.context_parallel

    @property
    def masked(self) -> bool:
        """SDPA and eager attention get a materialised mask: always eager, SDPA for padded batches."""
        return self.attention == "eager" or (self.attention == "sdpa" and self.micro_batch > 1)


def attention_kept(arch: Architecture, step: Step) -> int:
    """Per token: what the attention kernel keeps for its backward."""
    d, q, kv = step.dtype, arch.q_width, arch.kv_width
    if step.attention == "eager":  # q, repeated k and v; probabilities in fp32 and in the compute dtype
        return 3 * d * q + (4 + d) * arch.heads * step.sequence
    if step.masked:  # with a mask, transformers repeats k and v to every head (no native GQA)
        kv = q
    return d * (q + 2 * kv) + d * q + 4 * arch.heads  # q, rotated k, v, output, log-sum-exp (fp32)


def layer_kept(arch: Architecture, step: Step, input_grad: bool = True, input_is_checkpoint: bool = False) -> int:
    """Per token: what one decoder layer keeps for its backward.

    Frozen linears (bf16 or NF4) keep nothing of their input; each op keeps its tensors only
    when the tensors it differentiates need a gradient, which is why the first layer (its
    input, the frozen embedding's output, needs none without checkpointing) keeps less.
    """
    d, h, i, targets = step.dtype, arch.hidden, arch.intermediate, step.targets
    mask = 1 if step.cuda else 4

    def norm(grad: bool, input_kept: bool) -> int:
        """RMSNorm keeps its input upcast to fp32 and 1/rms; in fp32 the upcast is the input itself."""
        return 0 if not grad else 4 + (0 if d == 4 and input_kept else 4 * h)

    def adapters(names: list[str], width: int, grad: bool) -> int:
        """peft casts the input to the fp32 adapter, applies dropout (keeping its mask when the
        input needs a gradient) and lora_A keeps the result; lora_B keeps lora_A's output."""
        names = [n for n in names if n in targets]
        if not names:
            return 0
        inputs = len(names) if step.dropout or d != 4 else 1  # in fp32 without dropout they share it
        return inputs * 4 * width + (len(names) * mask * width if step.dropout and grad else 0) + len(names) * 4 * step.rank

    kept = norm(input_grad, input_is_checkpoint)
    kept += adapters(["q_proj", "k_proj", "v_proj"], h, input_grad)
    attention_grad = input_grad or bool(targets & {"q_proj", "k_proj", "v_proj"})
    kept += attention_kept(arch, step) if attention_grad else 0
    kept += adapters(["o_proj"], arch.q_width, attention_grad)
    grad = attention_grad or "o_proj" in targets
    kept += norm(grad, False)
    kept += adapters(["gate_proj", "up_proj"], h, grad)
    gate_grad, up_grad = grad or "gate_proj" in targets, grad or "up_proj" in targets
    kept += d * i * (2 * gate_grad + up_grad)  # SiLU keeps gate's output; the product keeps each factor for the other
    kept += adapters(["down_proj"], i, gate_grad or up_grad)
    return kept


def backward_working_set(arch: Architecture, step: Step) -> int:
    """Per token: the largest working set of a layer's backward beyond what the layer keeps."""
    last = next((n for n in ("down_proj", "up_proj", "gate_proj") if n in step.targets), None)
    per_hidden, per_intermediate = BACKWARD_STAGE[step.dtype][last]
    stage = per_hidden * arch.hidden + per_intermediate * arch.intermediate
    if step.attention == "eager":  # the softmax's backward: fp32 gradient in and out, the probabilities' copies freed
        stage = max(stage, step.dtype * arch.hidden + 4 * arch.heads * step.sequence)
    return stage


def loss_parts(arch: Architecture, step: Step) -> list[tuple[str, float]]:
    """The loss's tensors at its peak, bytes on one device."""
    t, d, h, v = step.tokens, step.dtype, arch.hidden, arch.vocab
    parts = [("final RMSNorm: fp32 input, 1/rms", t * (4 * h + 4))]
    if step.loss == "cut_cross_entropy":  # keeps its input and log-sum-exp; the backward adds the input's gradient
        return parts + [("fused loss (cut cross-entropy): hidden states, their gradient", t * (2 * d * h + 4))]
    if step.loss == "liger_fused_linear_cross_entropy":  # input gradient computed in the forward, logits a chunk at a time
        per_chunk = -(-t // -(-v // h))  # tokens / ceil(vocab / hidden), rounded up to a power of two
        chunk = min(1 << (per_chunk - 1).bit_length(), t)
        return parts + [("fused loss (Liger): input gradient kept", t * (d * h + 4)),
                        (f"fused loss (Liger): logits of one {chunk}-token chunk", chunk * v * d)]
    # the loss upcasts the logits to fp32; cross-entropy keeps the fp32 log-softmax; its backward
    # holds that, the gradient it receives and the one it returns: 3 x 4 bytes x vocabulary
    return parts + [("logits: fp32 log-softmax kept, its gradient in and out", t * 12 * v)]


def stored_parts(arch: Architecture, step: Step) -> list[tuple[str, float]]:
    """What all layers keep from the forward until their backward, bytes on one device."""
    t, d = step.tokens, step.dtype
    parts = [("rotary cos/sin (shared by all layers)", t * 2 * arch.head_dim * d)]
    if step.masked:
        parts.append(("attention mask", step.micro_batch * step.sequence**2 * (d if step.attention == "eager" else 1)))
    if step.checkpointing:
        return parts + [("layer inputs kept for recomputation", arch.layers * t * d * arch.hidden)]
    first, other = layer_kept(arch, step, input_grad=False), layer_kept(arch, step)
    return parts + [(f"{arch.layers} layers' kept tensors", t * (first + (arch.layers - 1) * other))]


def phases(arch: Architecture, step: Step) -> dict[str, list[tuple[str, float]]]:
    """The two candidate peaks of a step, each as named parts in bytes on one device."""
    stored = stored_parts(arch, step)
    layer = [("backward of a layer: working set", step.tokens * backward_working_set(arch, step))]
    if step.checkpointing:
        layer.insert(0, ("one layer recomputed: kept tensors",
                         step.tokens * layer_kept(arch, step, input_is_checkpoint=True)))
    return {"loss": stored + loss_parts(arch, step), "layer backward": stored + layer}
