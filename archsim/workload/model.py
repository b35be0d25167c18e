"""Transformer specs (`archsim/data/workloads/*.yaml`) and the scenario a run asks for."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.limits import MAX_BATCH, MAX_CONTEXT, MAX_EXPERTS, MAX_HEADS, MAX_HIDDEN, MAX_LAYERS, MAX_VOCAB
from archsim.spec import Field, did_you_mean, read_spec_file, resolve_spec_path, validate

# Bundled models ship inside the package (archsim/data/workloads/); ARCHSIM_WORKLOAD_DIR names a folder
# searched first, so a user's own files can be used by name.
BUNDLED_WORKLOAD_DIR = Path(__file__).resolve().parents[1] / "data" / "workloads"
WORKLOAD_DIR_ENV = "ARCHSIM_WORKLOAD_DIR"

# Bytes per element as stored, block scales included:
# - fp4: NVFP4, 4-bit E2M1 values with one FP8 (E4M3) scale per 16 (4.5 bits; NVIDIA's NVFP4 format, the
#   TensorRT-LLM / ModelOpt FP4 checkpoints); mxfp4: OCP MX FP4, one 8-bit (E8M0) scale per 32 (4.25 bits);
# - fp6: OCP MX FP6 (E3M2/E2M3), one 8-bit scale per 32 (6.25 bits);
# - int4: weight-only AWQ/GPTQ, one fp16 scale per group of 128 (4.125 bits; the usual group size).
# fp8 and int8 carry one scale per tensor or channel: negligible.
DTYPE_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp6": 6.25 / 8,
               "int4": 4.125 / 8, "fp4": 4.5 / 8, "mxfp4": 4.25 / 8}

TRANSFORMER = {
    "version": Field("choice", "schema version", choices=(1,)),
    "kind": Field("choice", "workload kind", choices=("transformer",)),
    "name": Field("str", "short name used on the command line"),
    "description": Field("str", "one line for `archsim list`"),
    "source": Field("str", "where the shapes come from (published config); optional for a made-up model, "
                    "whose results then say it has none", required=False, default=""),
    "layers": Field("int", "decoder layers", positive=True, maximum=MAX_LAYERS),
    "hidden": Field("int", "model width d_model", positive=True, maximum=MAX_HIDDEN),
    "heads": Field("int", "query heads", positive=True, maximum=MAX_HEADS),
    "kv_heads": Field("int", "key/value heads (GQA); equal to heads for MHA", positive=True, maximum=MAX_HEADS),
    "head_dim": Field("int", "dimension of one head", positive=True, maximum=MAX_HIDDEN),
    "ffn": Field("int", "FFN inner size (per expert for MoE)", positive=True, maximum=MAX_HIDDEN),
    "activation": Field("choice", "FFN type", choices=("swiglu", "gelu")),
    "norm": Field("choice", "normalization", choices=("rmsnorm", "layernorm")),
    "vocab": Field("int", "vocabulary size", positive=True, maximum=MAX_VOCAB),
    "max_context": Field("int", "longest sequence the model supports", positive=True, maximum=MAX_CONTEXT),
    "tied_embeddings": Field("bool", "LM head shares the embedding matrix"),
    "bias": Field("bool", "linear layers have biases (GPT-3 style)"),
    "learned_positions": Field("bool", "a learned position-embedding table (GPT-3) rather than RoPE"),
    "experts": Field("int", "MoE experts per layer (1 = dense)", required=False, default=1, positive=True,
                     maximum=MAX_EXPERTS),
    "top_k": Field("int", "experts each token is routed to", required=False, default=1, positive=True,
                   maximum=MAX_EXPERTS),
    "shared_experts": Field("int", "MoE: experts every token also goes through (of `ffn` each; DeepSeek's shared "
                            "expert)", required=False, default=0, minimum=0, maximum=MAX_EXPERTS),
    "dense_layers": Field("int", "MoE: the first N layers are dense, with FFN size `dense_ffn` (DeepSeek-V3's "
                          "first_k_dense_replace)", required=False, default=0, minimum=0, maximum=MAX_LAYERS),
    "dense_ffn": Field("int", "FFN inner size of the dense layers (dense_layers > 0)", required=False, default=0,
                       minimum=0, maximum=MAX_HIDDEN),
    # Multi-head latent attention (DeepSeek-V2/V3): K and V compressed into one latent of kv_lora_rank plus a
    # shared RoPE key of qk_rope_head_dim per token; head_dim is the query/key head size (nope + rope).
    "kv_lora_rank": Field("int", "MLA: rank of the compressed K/V latent (0: ordinary attention)", required=False,
                          default=0, minimum=0, maximum=MAX_HIDDEN),
    "q_lora_rank": Field("int", "MLA: rank of the compressed query (0: a full query projection)", required=False,
                         default=0, minimum=0, maximum=MAX_HIDDEN),
    "qk_rope_head_dim": Field("int", "MLA: RoPE part of each query/key head (shared by the heads for keys)",
                              required=False, default=0, minimum=0, maximum=MAX_HIDDEN),
    "v_head_dim": Field("int", "MLA: value head size (default: head_dim)", required=False, default=0, minimum=0,
                        maximum=MAX_HIDDEN),
}


@dataclass(frozen=True)
class Transformer:
    name: str
    description: str
    source: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    activation: str
    norm: str
    vocab: int
    max_context: int
    tied_embeddings: bool
    bias: bool
    learned_positions: bool
    experts: int = 1
    top_k: int = 1
    shared_experts: int = 0
    dense_layers: int = 0
    dense_ffn: int = 0
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0

    @property
    def is_moe(self) -> bool:
        return self.experts > 1

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def value_dim(self) -> int:
        return self.v_head_dim or self.head_dim

    @property
    def uniform_layers(self) -> bool:
        """Every decoder layer has the same operators (what mappers that simulate one layer rely on)."""
        return not self.is_mla and not (self.is_moe and self.dense_layers)

    def is_dense_layer(self, layer: int) -> bool:
        return not self.is_moe or layer < self.dense_layers

    def layer_runs(self) -> list[tuple[int, int]]:
        """(first layer, count) of each run of identical decoder layers."""
        if self.is_moe and 0 < self.dense_layers < self.layers:
            return [(0, self.dense_layers), (self.dense_layers, self.layers - self.dense_layers)]
        return [(0, self.layers)]


def workload_paths() -> dict[str, Path]:
    """Every workload file found by name: name -> path (the first folder wins)."""
    extra = os.environ.get(WORKLOAD_DIR_ENV)
    found: dict[str, Path] = {}
    for folder in ([Path(extra)] if extra else []) + [BUNDLED_WORKLOAD_DIR]:
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def bundled_workloads() -> list[str]:
    return sorted(workload_paths())


def workload_path(name: str) -> Path:
    """The file of bundled workload `name` (for tests and tools that read the YAML text)."""
    return resolve_spec_path(name, workload_paths(), "workload")


# Models derived in this process from a loaded one (a speculative decoder's EAGLE head: archsim/speculative.py),
# found by name like a bundled workload, so every stage (and a mapper's own memory accounting) can load them.
_DERIVED: dict[str, Transformer] = {}


def register_derived(model: Transformer) -> str:
    """Make `model` loadable by its name in this process; its name (it must not shadow a workload file)."""
    if model.name in workload_paths():
        raise ArchsimInputError(f"a derived model cannot take the name of workload {model.name!r}")
    _DERIVED[model.name] = model
    return model.name


def load_transformer(name_or_path: str) -> Transformer:
    """The model of a bundled workload name or a workload file; a file is parsed once per process while it
    is unchanged (a serving run or a sweep lowers the same model thousands of times)."""
    if name_or_path in _DERIVED:
        return _DERIVED[name_or_path]
    path = resolve_spec_path(name_or_path, workload_paths(), "workload", "; or gemm:MxNxK / gemv:NxK")
    try:
        stat = path.stat()
    except OSError:
        return _parse_transformer(path)
    return _load_transformer_file(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _load_transformer_file(path: str, mtime_ns: int, size: int) -> Transformer:
    return _parse_transformer(Path(path))


def _parse_transformer(path: Path) -> Transformer:
    return transformer_from_yaml(path, *read_spec_file(path))


def transformer_from_yaml(path: Path, data, lines) -> Transformer:
    """The Transformer of workload file `path`, already read as (data, lines)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in (None, "transformer") and not did_you_mean(str(kind), ["transformer"]):
        # Likely a chip or system file given as the workload: one problem, not one per missing key.
        raise SpecError([Problem(str(path), lines.get(("kind",)), "kind",
                                 f"expected 'transformer' in a workload file, got {kind!r}; is this a chip or "
                                 f"system file? Give it as the CHIP argument")])
    if isinstance(data, dict) and kind is None and "axes" in data:
        raise SpecError([Problem(str(path), 1, "", "this looks like a sweep file, not a workload: "
                                                   "run it with `archsim sweep FILE --db DB`")])
    spec = validate(data, TRANSFORMER, str(path), lines)
    problems = []
    if spec.heads % spec.kv_heads:
        problems.append(Problem(str(path), lines.get(("kv_heads",)), "kv_heads",
                                f"heads ({spec.heads}) must be a multiple of kv_heads ({spec.kv_heads})"))
    if spec.top_k > spec.experts:
        problems.append(Problem(str(path), lines.get(("top_k",)), "top_k",
                                f"top_k ({spec.top_k}) cannot exceed experts ({spec.experts})"))
    if spec.dense_layers and (spec.experts == 1 or spec.dense_layers >= spec.layers):
        problems.append(Problem(str(path), lines.get(("dense_layers",)), "dense_layers",
                                f"dense_layers ({spec.dense_layers}) applies to an MoE model and must be fewer "
                                f"than its {spec.layers} layers"))
    if spec.dense_layers and not spec.dense_ffn:
        problems.append(Problem(str(path), lines.get(("dense_ffn",)), "dense_ffn",
                                "dense_layers > 0 needs dense_ffn, the dense layers' FFN size"))
    if spec.kv_lora_rank and not 0 < spec.qk_rope_head_dim < spec.head_dim:
        problems.append(Problem(str(path), lines.get(("qk_rope_head_dim",)), "qk_rope_head_dim",
                                f"MLA (kv_lora_rank > 0) needs qk_rope_head_dim between 1 and head_dim - 1 "
                                f"({spec.head_dim - 1}), got {spec.qk_rope_head_dim}"))
    if problems:
        raise SpecError(problems)
    values = spec.to_dict()
    values.pop("version")
    values.pop("kind")
    return Transformer(**values)


@dataclass(frozen=True)
class Scenario:
    """What is run, for `batch` sequences:
    - prefill: one prefill of `prompt_len` tokens per sequence, after `prefix_len` tokens already in
      the KV cache (0: a fresh prompt; > 0: a later chunk of a chunked prefill, or a cached prefix);
    - decode: one decode step with `context_len` tokens already in the KV cache;
    - mixed: one serving iteration (continuous batching): `prefill_batch` prefill chunks of `prompt_len`
      tokens, each after `prefix_len` cached ones, and one decode step for each of `batch` other sequences,
      each with `context_len` cached tokens; the linear layers run over all their tokens at once.
    `decode_q` > 1 makes every decode step a speculative verify step: each decoding sequence processes
    `decode_q` new tokens (the last accepted token and k = decode_q - 1 drafted ones) after its
    `context_len` cached ones, causally among themselves, with logits at every position."""

    phase: str = "decode"
    batch: int = 1
    prompt_len: int = 2048
    context_len: int = 1024
    weight_dtype: str = "bf16"
    act_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    prefix_len: int = 0
    prefill_batch: int = 1  # mixed steps: prefill chunks beside the decodes
    decode_q: int = 1  # new tokens per decoding sequence (speculative verify: k + 1)

    def check(self, model: Transformer | None = None) -> "Scenario":
        def bad(what):
            raise ArchsimInputError(f"scenario: {what}")

        if self.phase not in PHASES:
            bad(f"phase must be one of {', '.join(PHASES)}, got {self.phase!r}")
        for key, limit in (("batch", MAX_BATCH), ("prompt_len", MAX_CONTEXT), ("context_len", MAX_CONTEXT),
                           ("prefill_batch", MAX_BATCH)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                bad(f"{key} must be a positive integer, got {value!r}")
            if value > limit:
                bad(f"{key} must be at most {limit:,} (archsim's limit), got {value:,}")
        if isinstance(self.prefix_len, bool) or not isinstance(self.prefix_len, int) or self.prefix_len < 0:
            bad(f"prefix_len must be a non-negative integer, got {self.prefix_len!r}")
        if self.prefix_len > MAX_CONTEXT:
            bad(f"prefix_len must be at most {MAX_CONTEXT:,} (archsim's limit), got {self.prefix_len:,}")
        if isinstance(self.decode_q, bool) or not isinstance(self.decode_q, int) or self.decode_q < 1:
            bad(f"decode_q must be a positive integer, got {self.decode_q!r}")
        if self.decode_q > 1 and self.phase == "prefill":
            bad("decode_q (tokens per decoding sequence) applies to decode and mixed steps")
        if self.prefix_len and self.phase == "decode":
            bad("prefix_len applies to prefill and mixed steps (a decode step's cache is its context_len)")
        for key in ("weight_dtype", "act_dtype", "kv_dtype"):
            value = getattr(self, key)
            if value not in DTYPE_BYTES:
                bad(f"{key} must be one of {', '.join(DTYPE_BYTES)}, got {value!r}"
                    f"{did_you_mean(str(value), DTYPE_BYTES)}")
        if model is not None:
            if self.phase != "decode" and self.prefix_len + self.prompt_len > model.max_context:
                what = f"prefix_len {self.prefix_len} + prompt_len" if self.prefix_len else "prompt_len"
                bad(f"{what} {self.prompt_len} exceeds {model.name}'s max_context of {model.max_context}")
            if self.phase != "prefill" and self.context_len + self.decode_q > model.max_context:
                what = "the decoded token" if self.decode_q == 1 else f"the {self.decode_q} verified tokens"
                bad(f"context_len {self.context_len} plus {what} exceeds {model.name}'s max_context "
                    f"of {model.max_context} (context_len can be at most {model.max_context - self.decode_q})")
        return self

    @property
    def tokens(self) -> int:
        """Tokens processed in this step, over the batch."""
        if self.phase == "mixed":
            return self.prefill_batch * self.prompt_len + self.batch * self.decode_q
        return self.batch * (self.prompt_len if self.phase == "prefill" else self.decode_q)

    def with_(self, **changes) -> "Scenario":
        return replace(self, **changes)


PHASES = ("prefill", "decode", "mixed")


def iteration(prefill_tokens: int, decode_seqs: int, decode_context: int, prefill_prefix: int = 0,
              prompt_cap: int | None = None, decode_q: int = 1, **dtypes) -> Scenario:
    """The scenario of one serving iteration: `prefill_tokens` of prefill after `prefill_prefix` cached
    tokens in all, as equal chunks of at most about `prompt_cap` tokens (default: one chunk), and
    `decode_seqs` decode steps with `decode_context` cached tokens each. Either part may be empty (then it
    is a plain prefill or decode step); not both."""
    if prefill_tokens < 0 or decode_seqs < 0 or (prefill_tokens == 0 and decode_seqs == 0):
        raise ArchsimInputError(f"an iteration needs prefill tokens or decode sequences, got "
                                f"{prefill_tokens} and {decode_seqs}")
    chunks = _prompts(prefill_tokens, prompt_cap)
    length, prefix = -(-prefill_tokens // chunks), prefill_prefix // chunks
    if decode_seqs == 0:
        return Scenario(phase="prefill", batch=chunks, prompt_len=length, prefix_len=prefix, **dtypes)
    if prefill_tokens == 0:
        return Scenario(phase="decode", batch=decode_seqs, context_len=max(1, decode_context), decode_q=decode_q,
                        **dtypes)
    return Scenario(phase="mixed", batch=decode_seqs, prompt_len=length, context_len=max(1, decode_context),
                    prefix_len=prefix, prefill_batch=chunks, decode_q=decode_q, **dtypes)


def _prompts(tokens: int, cap: int | None) -> int:
    """How many equal prompts `tokens` prefill tokens are priced as: at least tokens / cap, and a count that
    divides them, so the step runs exactly `tokens` through its linear layers (a GEMM's time steps at tile
    boundaries: one token too many can cost a wave); up to twice the fewest, else the fewest (rounding up)."""
    if not cap or tokens <= cap:
        return 1
    fewest = -(-tokens // cap)
    return next((n for n in range(fewest, 2 * fewest + 1) if tokens % n == 0), fewest)
