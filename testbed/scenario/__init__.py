"""Scenario files (YAML, version 1) -> validated, typed objects; see `model.py` for the schema."""
