"""Workflows (EDGELESS JSON or the YAML DAG with SLOs) and the function programming model."""
