"""Settings shared by every suite."""

import os

from hypothesis import HealthCheck, settings

# The machine is shared and noisy: a slow draw is not a bug, so time-based checks are off.
# HYPOTHESIS_PROFILE=thorough runs many more examples (documented in docs/testing.md).
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=5000
)
# make mutation: the same examples on every run, so a mutant is killed or not, never by luck.
settings.register_profile(
    "mutation",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    max_examples=50,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
