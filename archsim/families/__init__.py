"""The chip families shipped with archsim, one package each.

Each subpackage holds one family whole: its chip schema and roofline peaks
(`schema.py`), its mappers (`mapper/`), its energy model (`energy.py`), its
validation cases (`validation.py`) and its bundled chips and systems
(`configs/`), and registers it with one `FAMILY = archsim.family.Family(...)`
in its `__init__.py`. The core finds them through `archsim.family` and never
names one; adding a family is adding a folder here (or a plugin: docs/plugins.md).
"""
