"""Transformer specs (`archsim/data/workloads/*.yaml`) and the scenario a run asks for."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.limits import MAX_BATCH, MAX_CONTEXT, MAX_EXPERTS, MAX_HEADS, MAX_HIDDEN, MAX_LAYERS, MAX_VOCAB
from archsim.spec import Field, did_you_mean, read_spec_file, resolve_spec_path, validate

# Bundled models ship inside the package (archsim/data/workloads/); ARCHSIM_WORKLOAD_DIR names a folder
# searched first, so a user's own files can be used by name.
BUNDLED_WORKLOAD_DIR = Path(__file__).resolve().parents[1] / "data" / "workloads"
WORKLOAD_DIR_ENV = "ARCHSIM_WORKLOAD_DIR"

DTYPE_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}

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

    @property
    def is_moe(self) -> bool:
        return self.experts > 1


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


def load_transformer(name_or_path: str) -> Transformer:
    path = resolve_spec_path(name_or_path, workload_paths(), "workload", "; or gemm:MxNxK / gemv:NxK")
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
    if problems:
        raise SpecError(problems)
    values = spec.to_dict()
    values.pop("version")
    values.pop("kind")
    return Transformer(**values)


@dataclass(frozen=True)
class Scenario:
    """What is run: one prefill of `prompt_len` tokens, or one decode step with
    `context_len` tokens already in the KV cache, for `batch` sequences."""

    phase: str = "decode"
    batch: int = 1
    prompt_len: int = 2048
    context_len: int = 1024
    weight_dtype: str = "bf16"
    act_dtype: str = "bf16"
    kv_dtype: str = "bf16"

    def check(self, model: Transformer | None = None) -> "Scenario":
        def bad(what):
            raise ArchsimInputError(f"scenario: {what}")

        if self.phase not in ("prefill", "decode"):
            bad(f"phase must be 'prefill' or 'decode', got {self.phase!r}")
        for key, limit in (("batch", MAX_BATCH), ("prompt_len", MAX_CONTEXT), ("context_len", MAX_CONTEXT)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                bad(f"{key} must be a positive integer, got {value!r}")
            if value > limit:
                bad(f"{key} must be at most {limit:,} (archsim's limit), got {value:,}")
        for key in ("weight_dtype", "act_dtype", "kv_dtype"):
            value = getattr(self, key)
            if value not in DTYPE_BYTES:
                bad(f"{key} must be one of {', '.join(DTYPE_BYTES)}, got {value!r}"
                    f"{did_you_mean(str(value), DTYPE_BYTES)}")
        if model is not None:
            if self.phase == "prefill" and self.prompt_len > model.max_context:
                bad(f"prompt_len {self.prompt_len} exceeds {model.name}'s max_context of {model.max_context}")
            if self.phase == "decode" and self.context_len + 1 > model.max_context:
                bad(f"context_len {self.context_len} plus the decoded token exceeds {model.name}'s max_context "
                    f"of {model.max_context} (context_len can be at most {model.max_context - 1})")
        return self

    @property
    def tokens(self) -> int:
        """Tokens processed in this step, over the whole batch."""
        return self.batch * (self.prompt_len if self.phase == "prefill" else 1)

    def with_(self, **changes) -> "Scenario":
        return replace(self, **changes)
