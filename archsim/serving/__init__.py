"""Request-level serving simulation (docs/serving.md)."""
