"""`testbed run`: one scenario end to end (network, platform, workload, results, report)."""
