"""Fault scenarios on the running stack (make faults): see docs/faults.md."""
