"""The ports: what the domain needs from the outside world, as small protocols."""
