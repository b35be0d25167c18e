"""Arguments shared by the commands that run a workload (run, compare, explain, ...)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from archsim.errors import ArchsimInputError
from archsim.spec import parse_override
from archsim.workload.model import Scenario

_DEFAULT = Scenario()


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
    # No argparse defaults: a length given for the other phase is an error, not silently ignored.
    p.add_argument("--prompt-len", type=int, default=None,
                   help=f"prompt tokens for prefill (default {_DEFAULT.prompt_len}; prefill only)")
    p.add_argument("--context-len", type=int, default=None,
                   help=f"tokens already in the KV cache for decode (default {_DEFAULT.context_len}; decode only)")
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
    flag, value, why, other = {
        "prefill": ("--context-len", args.context_len, "a prefill starts with an empty KV cache", "--prompt-len"),
        "decode": ("--prompt-len", args.prompt_len, "a decode step processes one new token", "--context-len"),
    }[args.phase]
    if value is not None:
        raise ArchsimInputError(f"{flag} {value} does not apply to --phase {args.phase}: {why}; "
                                f"its length is {other}")
    return Scenario(phase=args.phase, batch=args.batch,
                    prompt_len=_DEFAULT.prompt_len if args.prompt_len is None else args.prompt_len,
                    context_len=_DEFAULT.context_len if args.context_len is None else args.context_len,
                    prefix_len=getattr(args, "prefix_len", 0),
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


def prepare_output(path: str | None, flag: str, folder: bool = False) -> None:
    """Make an output path ready before any work runs: create its folder (as --plot always did) and
    check it can be written, so a typo fails in a second rather than after the whole simulation.
    `folder`: the path is itself a folder (--plot DIR)."""
    import os

    if not path or path == "-":
        return
    target = Path(path)
    where = target if folder else target.parent
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchsimInputError(f"cannot write {flag} {path}: cannot create the folder {where} "
                                f"({exc.strerror})") from None
    if not folder and target.is_dir():
        raise ArchsimInputError(f"cannot write {flag} {path}: it is a folder; give a file name")
    if not os.access(where, os.W_OK):
        raise ArchsimInputError(f"cannot write {flag} {path}: the folder {where} is not writable")


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


def add_html_argument(p) -> None:
    p.add_argument("--html", metavar="FILE",
                   help="also write a self-contained HTML report (plots, sortable tables; works offline)")


def write_html_report(args, result, trace: str | None = None, **context) -> None:
    """`--html FILE`: the page of `result` (any command's result; archsim.report.html picks the page);
    `trace`: a Perfetto trace or timeline written by the same command, linked from the page."""
    if getattr(args, "html", None):
        from archsim.report.html import describe, write_html

        print(describe(write_html(result, args.html, trace=trace, **context)))
