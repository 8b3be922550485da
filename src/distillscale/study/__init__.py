"""Studies: specs, expansion into runs, executors and the run store."""
