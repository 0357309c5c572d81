"""Measurement probes used while tuning: not part of the load tool's report."""
