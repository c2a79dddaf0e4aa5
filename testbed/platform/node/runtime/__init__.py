"""Gaia-like CPU/GPU selection for serverless functions (BDCAT 2025, arXiv 2511.13728).

Deploy time: `classify` reads the function's source; run time: `selector` re-evaluates the
mode from observed latencies; `policy` combines both with the platform's `runtime` setting
and `gpu` (the only effectful module: it probes the host once).
"""
