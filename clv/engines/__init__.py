"""Engines for data that outgrows one machine: the same formulas, run where the data is."""
