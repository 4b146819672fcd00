"""Benchmarks: `python -m bench` runs them all and prints one table of ratios against references measured in the
same run. Each step of the project adds its own module here."""
