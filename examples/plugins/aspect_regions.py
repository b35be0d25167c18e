"""A mapping strategy of your own, as a plugin (docs/tutorial.md, step 13; docs/mapping.md).

`mesh-aspect` places a wafer's layers by a different rule than the built-in `mesh-dataflow`. The built-in
`region=auto` takes the fewest, largest regions that fit, and among those close to the fewest the squarest;
this one cuts the wafer into a grid of at least one region per decoder layer plus two (the embedding and the
LM head) whose regions have the wafer's own aspect ratio, the largest such. Everything else (lowering,
collectives, pieces, timing) is the built-in mapper's: the plugin calls it with the region it chose, through
the core's mapper registry (a plugin never imports a family's code). It takes the built-in's options, so the
mesh family's mapping files and search spaces drive it too (`mapper: mesh-aspect` in the file).

    archsim --plugin examples/plugins/aspect_regions.py run wse3 llama3.1-8b --mapper mesh-aspect
    archsim --plugin examples/plugins/aspect_regions.py search wse3 llama3.1-8b \
        --space examples/aspect_space.yaml --budget 20
"""
from __future__ import annotations

import math
from dataclasses import replace

from archsim.mapping.base import register_mapper, resolve_mapper

BUILTIN = resolve_mapper("mesh-dataflow", "mesh")


def aspect_region(grid_w: int, grid_h: int, units: int) -> tuple[int, int]:
    """The region of a grid of at least `units` equal regions whose shape is closest to the grid's own
    (larger regions on a tie)."""
    best = None
    for cols in range(1, units + 1):
        rows = math.ceil(units / cols)
        w, h = grid_w // cols, grid_h // rows
        if min(w, h) < 1:
            continue
        key = (abs(math.log((w / h) / (grid_w / grid_h))), -w * h)
        if best is None or key < best[0]:
            best = (key, (w, h))
    return best[1]


@register_mapper("mesh-aspect", family="mesh", options=BUILTIN.options,
                 description="tutorial plugin: the wafer's layers on regions shaped like the wafer, one per layer "
                             "plus embedding and head; the rest is mesh-dataflow")
def map_aspect(system, graph, scenario, options):
    options = dict(options)
    if options["region"] == "auto" and graph.phase != "gemm":
        grid = system.chip.grid
        units = math.ceil(graph.layers / max(1, system.count)) + 2
        w, h = aspect_region(int(grid.width), int(grid.height), units)
        options["region"] = f"{w}x{h}"
    mapping = BUILTIN.fn(system, graph, scenario, options)
    note = f"mesh-aspect: regions of {options['region']} cores, shaped like the wafer, one per layer"
    return replace(mapping, mapper="mesh-aspect", options=dict(mapping.options, region=options["region"]),
                   notes=[note, *mapping.notes])
