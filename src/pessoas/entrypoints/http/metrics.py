"""HTTP request metrics as ASGI middleware around the whole app: counts and latency by route and status.

The route is the matched route's path template (``/pessoas/{pessoa_id}``), read from
``scope["route"]`` after the app answered; a request that matched no route counts as
``unmatched``, never under its raw path, so the number of series stays bounded.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by method, route and status", ["method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "From the request's head to the end of its response, by method and route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UNMATCHED = "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Children bound once per (method, route, status): a dict hit per request instead of
        # prometheus_client's locked label lookup. Bounded: the parser knows a fixed set of
        # methods, routes are templates, statuses are few.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what an exception escaping the app turns into

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        method: str = scope["method"]
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self._counters[(method, route, status)] = REQUESTS.labels(method, route, str(status))
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = self._histograms[(method, route)] = LATENCY.labels(method, route)
        counter.inc()
        histogram.observe(seconds)
