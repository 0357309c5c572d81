"""The service's settings, read once from ``PESSOAS_*`` environment variables.

Leaving a backing service's URL unset selects its in-memory twin, so a bare ``pessoas serve``
needs nothing outside the process.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PESSOAS_", frozen=True)

    host: str = "0.0.0.0"
    port: int = 9999

    database_url: str | None = Field(
        default=None, description="PostgreSQL conninfo; unset keeps pessoas in memory"
    )
    database_read_url: str | None = Field(
        default=None,
        description="PostgreSQL conninfo of a hot standby for reads that may lag (search, get-by-id "
        "after the cache); unset reads from database_url. The count and every write use database_url",
    )
    database_pool_min: int = 2
    database_pool_max: int = 8

    redis_url: str | None = Field(default=None, description="Redis URL; unset keeps reservations in memory")
    redis_pool_max: int = Field(default=64, description="Redis connections per process")
    redis_prefix: str = Field(default="pessoas:", description="namespace of every Redis key")
    redis_sentinels: str | None = Field(
        default=None,
        description="Sentinels as host:port[,host:port...]; set, the client asks them for the current "
        "primary (following a failover) and redis_url only gives the database, user and password",
    )
    redis_sentinel_master: str = Field(default="mymaster", description="the Sentinels' name of the primary")
    redis_wait_replicas: int = Field(
        default=0,
        ge=0,
        description="replicas that must hold a reservation before it counts (WAIT); set it to 1 with "
        "Sentinel, so that a failover cannot lose an acknowledged apelido",
    )

    amqp_url: str | None = Field(
        default=None,
        description="RabbitMQ URL, or several separated by commas (the nodes of a cluster: each "
        "connection goes to the first that answers); unset stores each pessoa directly",
    )
    queue_name: str = Field(default="pessoas", description="the durable queue the worker consumes")
    queue_type: Literal["classic", "quorum"] = Field(
        default="classic",
        description="x-queue-type of the queues: quorum replicates them on a cluster's nodes",
    )
    publish_window_ms: float = Field(
        default=10.0, description="how long a publish waits for others to share its message"
    )
    publish_batch_max: int = Field(default=256, description="most pessoas in one message")

    worker_batch_max: int = Field(default=1000, description="most pessoas in one transaction")
