"""Hardware models that more than one family uses (no family owns them): systolic matrix units."""
