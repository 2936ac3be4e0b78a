"""Benchmarks behind `ltc lattices` and `ltc bench`: measured figures, printed as tables (never timed tests)."""
