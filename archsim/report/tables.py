"""Results as tables of records, and as pandas DataFrames for notebooks (`.to_pandas()`).

pandas is optional (the `pandas` extra): it is imported only here, inside `frame`, so `import archsim`
and the command line never load it. Every table is first a list of plain dicts (`records`), which is
what `to_pandas()` turns into a DataFrame, column for column.
"""
from __future__ import annotations


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_pandas() needs pandas: pip install 'archsim[pandas]' (or pip install pandas); "
                          "the same rows are available without it as plain dicts (.records())") from None
    return pd


def frame(records: list[dict], columns: list[str] | None = None):
    """A pandas DataFrame of `records` (one dict per row)."""
    return _pandas().DataFrame.from_records(records, columns=columns)


def frame_of_columns(columns: dict):
    """A pandas DataFrame of equal-length columns (name -> array)."""
    return _pandas().DataFrame(dict(columns))


def flatten(d: dict, prefix: str = "", skip: tuple[str, ...] = ()) -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists and the keys in `skip` are left out."""
    out = {}
    for key, value in d.items():
        if key in skip:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif not isinstance(value, (list, tuple)):
            out[name] = value
    return out
