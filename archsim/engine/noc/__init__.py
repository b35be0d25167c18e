"""Cycle-level mesh network model (BookSim2 IQRouter semantics), see docs/noc.md."""
