"""The service's settings, read once from ``PESSOAS_*`` environment variables.

Leaving a backing service's URL unset selects its in-memory twin, so a bare ``pessoas serve``
needs nothing outside the process.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PESSOAS_", frozen=True)

    host: str = "0.0.0.0"
    port: int = 9999

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
