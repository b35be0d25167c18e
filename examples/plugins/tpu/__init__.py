"""An out-of-tree chip family for archsim: a small TPU-like chip (docs/plugins.md walks through it).

Systolic matrix units (MXUs) fed from HBM, a vector unit, and a 2-D torus of
inter-chip links (ICI) between chips. Load it with

    archsim --plugin examples/plugins/tpu run tpu-v5e-4x4 llama2-7b

or install it (`pip install examples/plugins/tpu`), which declares this
`FAMILY` in the `archsim.families` entry-point group.

Every reference below is a string built from `__name__`, so the same code works
whether it is imported as a path (`--plugin`: module `archsim_plugin_tpu`) or as
the installed package (`archsim_tpu`). Nothing but this file is imported until a
command needs a part: the schema for a chip file, the mapper for a run.
"""
from archsim.family import Family

FAMILY = Family(
    kind="tpu",
    description="TPU-like chips (example plugin): systolic MXUs, HBM, a 2-D torus of ICI links",
    schema=f"{__name__}.schema:TPU",
    peaks=f"{__name__}.schema:tpu_peaks",
    energy=f"{__name__}.energy:tpu_energy",
    mappers={"tpu-torus": f"{__name__}.mapper"},
    default_mapper="tpu-torus",
    validation=(f"{__name__}.validation",),
    topologies=("torus-2d",),
    interconnect=f"{__name__}.schema:TORUS",
    configs="configs",
)
