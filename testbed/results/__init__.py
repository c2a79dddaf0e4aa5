"""Results of a run: the files it writes, their analysis and the report."""
