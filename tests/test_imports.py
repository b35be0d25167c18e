"""The import layering, checked with import-linter (contracts in pyproject.toml; docs/dependencies.md).

- no cycles between sibling packages or modules of archsim, at every depth;
- the core (hw, workload, engine, mapping.base, energy.model/terms, the family registry) never imports
  a family, directly or through another module;
- one family never imports another.
"""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

importlinter = pytest.importorskip("importlinter", reason="import-linter is in the `test` extra")


def test_import_contracts_hold(capsys):
    from importlinter import configuration
    from importlinter.application.use_cases import lint_imports

    configuration.configure()  # what the `lint-imports` command does first
    kept = lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out


def test_family_contract_covers_every_in_tree_family():
    """The independence contract names `archsim.families.*`: it must match the families that exist
    (a wildcard that matched nothing would keep the contract vacuously)."""
    import grimp

    from archsim.family import families

    graph = grimp.build_graph("archsim", cache_dir=None)
    children = {m.rsplit(".", 1)[1] for m in graph.find_children("archsim.families")}
    in_tree = {kind for kind, f in families().items() if f.schema.startswith("archsim.families.")}
    assert in_tree and in_tree <= children
