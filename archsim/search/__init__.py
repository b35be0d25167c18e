"""Mapping search: a space of mapping-file keys -> checked points -> the sweep store -> a Pareto front
(docs/mapping.md).

    from archsim.search import load_space, search
    result = search("wse3", "llama3.1-8b", Scenario(phase="decode"), "examples/wse3_space.yaml",
                    objective="latency", budget=200, db="wse3.sqlite")
"""
from archsim.search.api import search
from archsim.search.objectives import Objective, parse_objectives
from archsim.search.runner import SearchPoint, SearchResult
from archsim.search.space import SearchSpace, load_space

__all__ = ["Objective", "SearchPoint", "SearchResult", "SearchSpace", "load_space", "parse_objectives", "search"]
