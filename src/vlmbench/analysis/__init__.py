"""Statistics on measured rows shared by report, archive and predict (below all three):
statistics.py (percentiles, bootstrap CI, sign-flip test, Pareto front), observations.py (the
bootstrap's independent units)."""
