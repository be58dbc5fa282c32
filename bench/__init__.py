"""Benchmarks live here (issue 5); not run by `make test`."""
