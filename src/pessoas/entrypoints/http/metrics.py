"""HTTP request metrics: counts and latency by method, route and status, in Prometheus' form.

The route is the matched route's path template (``/pessoas/{pessoa_id}``); a request that matched
no route counts as ``unmatched``, never under its raw path, so the number of series stays bounded.

The figures are kept as plain integers and floats that the event loop adds to, and are turned into
Prometheus metric families only when a scrape asks for them. prometheus-client's own Counter and
Histogram take a lock on every increment (they are built for threads); an API process answers its
requests on one thread, so a request here costs two dict lookups and two additions instead of a
handful of lock round trips. The scrape runs on the metrics server's thread and reads a copy
(``list()`` and ``dict()`` copies are made without releasing the GIL, so the loop cannot change a
dict halfway through one).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _Latency:
    """One histogram series: a count per bucket (the last one is +Inf) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)
        self.total = 0.0


class RequestMetrics(Collector):
    """``http_requests_total`` and ``http_request_duration_seconds``, as one collector."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self._bounds = buckets
        self._answered: dict[tuple[str, str, int], int] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request (called on the event loop, once per request)."""
        key = (method, route, status)
        self._answered[key] = self._answered.get(key, 0) + 1
        latency = self._latency.get((method, route))
        if latency is None:
            latency = self._latency[(method, route)] = _Latency(len(self._bounds))
        # Prometheus' buckets are "less than or equal to": the first bound at or above the value.
        latency.counts[bisect_left(self._bounds, seconds)] += 1
        latency.total += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            labels=("method", "route", "status"),
        )
        for (method, route, status), count in list(self._answered.items()):
            requests.add_metric((method, route, str(status)), count)
        yield requests
        latency = HistogramMetricFamily(
            "http_request_duration_seconds",
            "From the request's head to the end of its response, by method and route",
            labels=("method", "route"),
        )
        for (method, route), series in list(self._latency.items()):
            counts, total = list(series.counts), series.total
            cumulative, buckets = 0, []
            for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((_bound_label(bound), cumulative))
            latency.add_metric((method, route), buckets, total)
        yield latency


def _bound_label(bound: float) -> str:
    # The label Prometheus' own Histogram writes: "0.005", "1.0", "+Inf".
    return "+Inf" if bound == float("inf") else repr(float(bound))


#: The process's request metrics, exposed with every other metric of the default registry.
REQUEST_METRICS = RequestMetrics()
REGISTRY.register(REQUEST_METRICS)
