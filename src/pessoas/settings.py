"""The service's settings, read once from ``PESSOAS_*`` environment variables.

With no backing service configured, a bare ``pessoas serve`` needs nothing outside the process:
it keeps pessoas in a SQLite file. The in-memory twins are chosen only explicitly
(``PESSOAS_STORAGE=memory``), since they forget everything when the process ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PESSOAS_", frozen=True)

    host: str = "0.0.0.0"
    port: int = 9999

    storage: Literal["sqlite", "postgres", "memory"] | None = Field(
        default=None,
        description="where pessoas are kept; unset means postgres when PESSOAS_DATABASE_URL is set, "
        "else sqlite. memory keeps the in-memory twins (for tests: nothing survives the process)",
    )
    sqlite_path: Path = Field(
        default=Path("data/pessoas.sqlite3"), description="the SQLite file (its folder is created)"
    )
    sqlite_readers: int = Field(default=4, ge=1, description="threads (and connections) answering reads")
    sqlite_batch_max: int = Field(default=1000, ge=1, description="most pessoas in one SQLite transaction")
    sqlite_busy_ms: int = Field(
        default=2000, ge=0, description="how long a write waits for a lock held by another process"
    )

    database_url: str | None = Field(
        default=None, description="PostgreSQL conninfo; unset keeps pessoas in SQLite (see storage)"
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

    @property
    def chosen_storage(self) -> Literal["sqlite", "postgres", "memory"]:
        if self.storage is not None:
            return self.storage
        return "postgres" if self.database_url else "sqlite"
