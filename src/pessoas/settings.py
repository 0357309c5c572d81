"""The service's settings, read once from ``PESSOAS_*`` environment variables.

Leaving a backing service's URL unset selects its in-memory twin, so a bare ``pessoas serve``
needs nothing outside the process.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PESSOAS_", frozen=True)

    # Loopback unless told otherwise: a bare `pessoas serve` is not exposed by accident (compose
    # and the local stack say where to listen explicitly).
    host: str = "127.0.0.1"
    port: int = 9999

    log_level: str = Field(
        default="info", description="level of the JSON log lines (debug, info, warning...)"
    )
    access_log: bool = Field(default=False, description="one JSON line per request (on|off)")

    metrics: bool = Field(default=True, description="collect Prometheus metrics (on|off)")
    metrics_host: str = Field(default="127.0.0.1", description="where this process serves its metrics")
    metrics_port: int = Field(
        default=9100, description="this process's metrics port; 0 collects but serves nothing"
    )
    ready_interval: float = Field(default=1.0, description="seconds between two readiness checks")

    # The bare server's own protection (with nothing in front of it).
    max_connections: int = Field(
        default=4096,
        description="connections (and requests in progress) beyond which 503 is answered; 0: none",
    )
    header_timeout: float = Field(default=10.0, description="seconds a client has to send a request's head")
    keepalive_timeout: int = Field(default=5, description="seconds an idle keep-alive connection stays")
    max_request_line_bytes: int = Field(default=8 * 1024, description="longest request line (else 414)")
    max_header_bytes: int = Field(default=8 * 1024, description="longest single header line (else 431)")
    max_head_bytes: int = Field(default=32 * 1024, description="request line plus all headers (else 431)")

    database_url: str | None = Field(
        default=None, description="PostgreSQL conninfo; unset keeps pessoas in memory"
    )
    database_pool_min: int = 2
    database_pool_max: int = 8

    redis_url: str | None = Field(default=None, description="Redis URL; unset keeps reservations in memory")
    redis_pool_max: int = Field(default=64, description="Redis connections per process")
    redis_prefix: str = Field(default="pessoas:", description="namespace of every Redis key")

    amqp_url: str | None = Field(default=None, description="RabbitMQ URL; unset stores each pessoa directly")
    queue_name: str = Field(default="pessoas", description="the durable queue the worker consumes")
    publish_window_ms: float = Field(
        default=10.0, description="how long a publish waits for others to share its message"
    )
    publish_batch_max: int = Field(default=256, description="most pessoas in one message")

    worker_batch_max: int = Field(default=1000, description="most pessoas in one transaction")
