"""Benchmarks and the bounded load test (make bench, make loadtest); not run by the tests."""
