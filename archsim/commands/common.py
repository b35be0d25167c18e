"""Arguments shared by the commands that run a workload (run, compare, explain, ...)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from archsim.errors import ArchsimInputError
from archsim.spec import parse_override
from archsim.workload.model import Scenario


def add_single_run_arguments(p: argparse.ArgumentParser) -> None:
    """CHIP WORKLOAD plus scenario and mapping options: what `run` and `explain` share."""
    p.add_argument("chip", help="bundled chip/system name (see `archsim list`) or a YAML path")
    p.add_argument("workload", help="bundled model name, a YAML path, gemm:MxNxK or gemv:NxK")
    add_scenario_arguments(p)
    add_mapping_arguments(p)


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--phase", choices=("prefill", "decode"), default="decode",
                   help="prefill (time to first token) or one decode step (default: decode)")
    p.add_argument("--batch", type=int, default=1, help="sequences processed together (default 1)")
    p.add_argument("--prompt-len", type=int, default=2048, help="prompt tokens for prefill (default 2048)")
    p.add_argument("--context-len", type=int, default=1024,
                   help="tokens already in the KV cache for decode (default 1024)")
    p.add_argument("--prefix-len", type=int, default=0,
                   help="prefill: tokens before the prompt already in the KV cache (a cached prefix: the prompt's "
                        "--prompt-len tokens attend to them; default 0)")
    p.add_argument("--dtype", default="bf16", help="weight and activation dtype (default bf16)")
    p.add_argument("--kv-dtype", default=None, help="KV-cache dtype (default: --dtype)")
    p.add_argument("--weight-dtype", default=None,
                   help="weight dtype (default: --dtype), e.g. int8 weights with bf16 activations")
    add_speculative_argument(p)


def add_speculative_argument(p) -> None:
    p.add_argument("--speculative", metavar="SPEC", default=None,
                   help="speculative decoding: draft=MODEL,k=4,alpha=0.8 (a draft model), method=ngram|eagle "
                        "(prompt lookup; an EAGLE/MTP head), acceptance alpha=A, rates=R1/R2/.. or accept=P0/P1/..")


def add_mapping_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapper", default="auto", help="mapper name (default: the chip family's default)")
    p.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                   help="mapper option, repeatable (e.g. -o tp=8)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a chip value by key path, repeatable (e.g. --set hbm.bandwidth='6 TB/s')")
    p.add_argument("--fidelity", choices=("roofline", "task", "cycle"), default="task",
                   help="roofline (analytic bound), task (default: discrete-event engine) or cycle")


def scenario_from_args(args) -> Scenario:
    return Scenario(phase=args.phase, batch=args.batch, prompt_len=args.prompt_len,
                    context_len=args.context_len, prefix_len=getattr(args, "prefix_len", 0),
                    weight_dtype=getattr(args, "weight_dtype", None) or args.dtype, act_dtype=args.dtype,
                    kv_dtype=args.kv_dtype or args.dtype).check()


def options_from_args(args) -> dict:
    out = {}
    for text in args.option:
        if "=" not in text:
            raise ArchsimInputError(f"-o expects KEY=VALUE (like tp=8), got {text!r}")
        key, value = text.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def overrides_from_args(args) -> list:
    return [parse_override(text) for text in args.overrides]


def write_json(path: str, data) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")
    except OSError as exc:
        raise ArchsimInputError(f"cannot write {path}: {exc.strerror}") from None


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
