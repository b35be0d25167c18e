"""Mapping files: a mapper's choices written down, validated like chip files, replayed bit for bit.

    version: 1
    family: mesh                 # the chip kind it maps onto
    mapper: mesh-dataflow        # default: the mapper the family's schema drives
    region: 152x168              # the family's keys (archsim/families/<kind>/mapping.py)
    microbatch: 1

Each family declares its keys with one `MappingSchema` (`Family.mapping_schema`). The file is checked
against it with every problem reported together (file, line, key; unknown keys with a did-you-mean), then
turned into the mapper's options, so a mapping file, `-o KEY=VALUE`, a sweep and a search point all reach
the mapper the same way. `effective(result)` writes a run's mapping with every `auto` choice resolved:
replaying that file makes no choice, and gives the same cycles (tests/test_mapping_files.py).
docs/mapping.md describes the schemas.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from archsim.errors import ArchsimInputError, Problem, SpecError
from archsim.spec import Field, Lines, check_section, did_you_mean, read_spec_file

HEADER = {
    "version": Field("choice", "schema version of this file", choices=(1,)),
    "family": Field("str", "the chip kind this mapping is for (gpu, mesh, tsp, a plugin's)"),
    "mapper": Field("str", "the mapper that honours it (default: the family schema's)", required=False),
    "about": Field("mapping", "what the mapping was made for (chip, workload, scenario, result); "
                              "informational, written by --save-mapping", required=False),
}


@dataclass(frozen=True)
class MappingSchema:
    """What a family's mapping files may say and how each part reaches its mapper.

    fields: the family's keys (archsim.spec Fields; nested dicts are sections).
    entries: for a key whose value is a mapping of named entries (a GPU's `operators`), the schema of one
      entry and the names allowed (() = any).
    to_options: the checked keys (plain data, defaults filled) -> the mapper's options.
    option_keys: option name -> the key path that sets it, so an option the mapper rejects is located.
    effective: a RunResult -> the family's keys with every auto choice resolved (what --save-mapping writes).
    check: fn(system, graph, scenario, options) -> None, raising InfeasibleError that names the layer, the
      operator and the resource with the numbers when a mapping does not fit the chip; cheap (no simulation):
      the search runs it on every point before simulating any.
    auto_space: fn(system, graph, scenario, options) -> {key: [values]}: the candidates the mapper's own
      `auto` compares, for a search space's `KEY: auto` axis.
    """

    family: str
    mapper: str
    fields: dict
    to_options: Callable[[dict], dict]
    effective: Callable[[Any], dict]
    option_keys: dict = field(default_factory=dict)
    entries: dict = field(default_factory=dict)  # key -> (entry schema, allowed names)
    check: Callable | None = None
    auto_space: Callable | None = None


@dataclass(frozen=True)
class MappingSpec:
    """A checked mapping: the mapper it drives and the options it gives it."""

    file: str
    family: str
    mapper: str
    options: dict
    data: dict  # the family's keys as written (plain data)


def schema_for(kind: str) -> MappingSchema:
    from archsim.family import get_family

    family = get_family(kind)
    if not family.mapping_schema:
        raise ArchsimInputError(f"chip family {kind!r} declares no mapping schema (Family.mapping_schema); "
                                "its mappers take -o options only")
    return family.resolve(family.mapping_schema)


def load_mapping(path: str | Path, kind: str | None = None) -> MappingSpec:
    """Read and check a mapping file (for chip kind `kind`, if given); SpecError lists every problem."""
    file = str(path)
    data, lines = read_spec_file(Path(path))
    return parse_mapping(data, file, lines, kind)


def parse_mapping(data, file: str, lines: Lines | None = None, kind: str | None = None) -> MappingSpec:
    lines = lines or {}
    if not isinstance(data, dict):
        raise SpecError([Problem(file, 1, "", "expected a mapping with version, family and the family's keys")])
    head = {k: data[k] for k in HEADER if k in data}
    node, problems = check_section(head, HEADER, file, lines)
    if problems:
        raise SpecError(problems)
    family = node.family
    from archsim.family import families

    known = families()
    if family not in known:
        raise SpecError([Problem(file, lines.get(("family",)), "family", f"unknown chip family {family!r}"
                                 f"{did_you_mean(family, known)}; known: {', '.join(known)}")])
    if kind is not None and family != kind:
        raise SpecError([Problem(file, lines.get(("family",)), "family",
                                 f"this mapping is for {family} chips; the chip is a {kind!r} chip")])
    schema = schema_for(family)
    body = {k: v for k, v in data.items() if k not in HEADER}
    plain, problems = check_body(schema, body, file, lines)
    if problems:
        raise SpecError(problems)
    mapper = node.get("mapper") or schema.mapper
    options = _options(schema, mapper, family, plain, file, lines)
    return MappingSpec(file, family, mapper, options, plain)


def checked_mapping(path, system, workload: str, scenario, mapper: str = "auto",
                    options: dict | None = None) -> tuple[str, dict]:
    """(mapper, options) of the mapping file at `path` for `system`, `-o` `options` on top, checked against the
    chip without simulating (the family schema's `check`: what does not fit names the layer, operator and
    resource with the numbers)."""
    from archsim.errors import InfeasibleError

    spec = load_mapping(path, system.kind)
    if mapper not in ("auto", spec.mapper):
        raise ArchsimInputError(f"--mapper {mapper} contradicts {path}, which is for mapper {spec.mapper}")
    merged = {**spec.options, **(options or {})}
    schema = schema_for(system.kind)
    if schema.check is not None:
        graph = operator_graph(workload, scenario)
        try:
            schema.check(system, graph, scenario, merged)
        except InfeasibleError as exc:
            raise InfeasibleError(f"{path}: {exc.reason}", exc.details) from None
        except ArchsimInputError as exc:
            raise ArchsimInputError(f"{path}: {exc}") from None
    return spec.mapper, merged


def operator_graph(workload: str, scenario):
    """The workload's operator graph (as archsim.pipeline.build_graph, which sits above this module)."""
    from archsim.workload.inline import inline_graph, is_inline
    from archsim.workload.lower import lower
    from archsim.workload.model import load_transformer

    if is_inline(workload):
        return inline_graph(workload, scenario.weight_dtype)
    return lower(load_transformer(workload), scenario)


def check_body(schema: MappingSchema, body: dict, file: str, lines: Lines) -> tuple[dict, list[Problem]]:
    """The family's keys checked against its schema: (plain data with defaults, problems)."""
    node, problems = check_section(body, schema.fields, file, lines)
    plain = node.to_dict() if node is not None else {}
    for key, (entry, names) in schema.entries.items():
        raw = body.get(key) or {}
        if not isinstance(raw, dict):
            continue  # the section's own Field already said so
        checked = {}
        for name, value in raw.items():
            if not _name_ok(name, names):
                problems.append(Problem(file, lines.get((key, name)), f"{key}.{name}",
                                        f"unknown name {name!r}{did_you_mean(str(name), names)}; known: "
                                        f"{', '.join(names)}"))
                continue
            sub, more = check_section(value, entry, file, lines, (key, name))
            problems += more
            if sub is not None and not more:
                checked[name] = {k: v for k, v in sub.to_dict().items() if v is not None}
        plain[key] = checked
    return plain, problems


def _name_ok(name, names) -> bool:
    """`names` empty: any; a name ending in '*' allows every name with that prefix (gemm:*)."""
    name = str(name)
    return not names or name in names or any(n.endswith("*") and name.startswith(n[:-1]) for n in names)


def _options(schema: MappingSchema, mapper_name: str, family: str, plain: dict, file: str, lines: Lines) -> dict:
    """The mapper's options from the checked keys; an option the mapper rejects is located at its key."""
    from archsim.mapping.base import resolve_mapper

    try:
        mapper = resolve_mapper(mapper_name, family)
    except ArchsimInputError as exc:
        raise SpecError([Problem(file, lines.get(("mapper",)), "mapper", str(exc))]) from None
    options = schema.to_options(plain)
    problems = []
    for name, value in options.items():
        try:
            mapper.parse_options({name: value})
        except ArchsimInputError as exc:
            path = _locate(mapper, name, value, schema.option_keys.get(name, (name,)))
            problems.append(Problem(file, _line(lines, path), ".".join(map(str, path)), str(exc)))
    if problems:
        raise SpecError(problems)
    return options


def _locate(mapper, name: str, value, path: tuple) -> tuple:
    """The key path of the part of a mapping-valued option the mapper rejects (operators.qkv.tile): each
    level's entries are tried alone, and the search goes down the first one rejected."""
    inner: tuple = ()
    while isinstance(value, dict):
        for key, sub in value.items():
            probe = {key: sub}
            for k in reversed(inner):
                probe = {k: probe}
            try:
                mapper.parse_options({name: probe})
            except ArchsimInputError:
                inner, value = inner + (key,), sub
                break
        else:
            break
    return path + inner


def _line(lines: Lines, path: tuple) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def effective_mapping(result, kind: str) -> dict:
    """A run's mapping as file data for chip kind `kind`, every auto choice resolved (what --save-mapping
    writes)."""
    schema = schema_for(kind)
    if result.fidelity == "roofline":
        raise ArchsimInputError("--save-mapping: at roofline fidelity no mapper runs, so there is no mapping to "
                                "save; use --fidelity task")
    try:
        body = schema.effective(result)
    except (KeyError, TypeError, ValueError):
        raise ArchsimInputError(f"--save-mapping: mapper {result.provenance.get('mapper')!r} does not take the "
                                f"options of {kind} mapping files ({schema.mapper}'s), so it has no mapping file")
    about = {"chip": result.chip, "workload": result.workload, "phase": result.phase, "batch": result.batch}
    if result.phase == "prefill":
        about["prompt_len"] = result.prompt_len
    elif result.phase == "decode":
        about["context_len"] = result.context_len
    about.update(fidelity=result.fidelity, latency_s=result.latency_s, tokens_per_s=result.tokens_per_s,
                 archsim=result.provenance.get("archsim_version"))
    return {"version": 1, "family": kind, "mapper": result.provenance["mapper"], **body, "about": about}


def dump_mapping(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def save_mapping(result, kind: str, path: str | Path) -> dict:
    data = effective_mapping(result, kind)
    try:
        Path(path).write_text("# written by archsim --save-mapping: every auto choice resolved; replay with "
                              "`archsim run ... --mapping FILE`\n" + dump_mapping(data))
    except OSError as exc:
        raise ArchsimInputError(f"cannot write {path}: {exc.strerror}") from None
    return data
