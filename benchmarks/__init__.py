"""Benchmarks of the glossary bot: `python -m benchmarks.run [--size tiny|full] [--out FILE] [--check]`."""
