"""Benchmarks: run each as a script (`make bench`)."""
