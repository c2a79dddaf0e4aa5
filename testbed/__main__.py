"""`python -m testbed` is the `testbed` command."""

from testbed.cli import run_cli

run_cli()
