"""Prometheus metrics of one app (prometheus-client), in their own registry.

A registry per app keeps two apps in one process (tests, benchmarks) apart. Under several
uvicorn/gunicorn workers each worker counts its own requests: scrape them one by one, or put
the workers behind prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

#: request paths counted under their own name; any other path counts as "other"
ROUTES = ("/predict", "/v1/classify", "/explain", "/health", "/info", "/metrics", "/")


class Metrics:
    """Requests and failures (by route, status, error type), latency (seconds) and batch-size
    (texts per predict call) histograms, and the queue depth (texts waiting)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("kanjo_requests", "HTTP requests answered.",
                                ["route", "status"], registry=self.registry)
        self.failures = Counter("kanjo_request_failures", "Requests answered with an error.",
                                ["route", "error_type"], registry=self.registry)
        self.latency = Histogram(
            "kanjo_request_latency_seconds", "Time from request to response.", ["route"],
            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10),
            registry=self.registry)
        self.batch_size = Histogram(
            "kanjo_batch_size", "Texts taken from the queue together (one predict call).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)
        self.texts = Counter("kanjo_texts", "Texts classified.", registry=self.registry)
        self.queue_depth = Gauge("kanjo_queue_depth", "Texts waiting for the model.",
                                 registry=self.registry)

    @staticmethod
    def route(path: str) -> str:
        """The route label of a request path (bounded: unknown paths are "other")."""
        return path if path in ROUTES else "other"

    def observe(self, path: str, status: int, seconds: float) -> None:
        route = self.route(path)
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def fail(self, path: str, error_type: str) -> None:
        self.failures.labels(self.route(path), error_type).inc()

    def on_batch(self, n_texts: int) -> None:
        self.batch_size.observe(n_texts)
        self.texts.inc(n_texts)

    def on_queue(self, n_waiting: int) -> None:
        self.queue_depth.set(n_waiting)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class Timing:
    """ASGI middleware: counts every HTTP request by route and status, and times it."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe(scope.get("path", ""), status, time.perf_counter() - start)
