"""The service's settings, read once from ``PESSOAS_*`` environment variables or a ``.env`` file.

With no backing service configured, a bare ``pessoas serve`` needs nothing outside the process:
it keeps pessoas in a SQLite file. The in-memory twins are chosen only explicitly
(``PESSOAS_STORAGE=memory``), since they forget everything when the process ends. Settings that
would let the service acknowledge pessoas into a store that nothing reads, or that only some
instances share, are refused when they are read: a bad configuration stops the process with a
one-line reason, it never falls back silently.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PESSOAS_"
ENV_FILE = ".env"


class Settings(BaseSettings):
    # A .env file in the working directory is read too; variables of the environment win over it.
    # Its other lines (another program's settings) are left alone; load_settings refuses a
    # PESSOAS_ line that names no setting.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=ENV_FILE, frozen=True, extra="ignore")

    host: str = Field(
        default="127.0.0.1",
        description="address to listen on; 127.0.0.1 keeps a bare server off the network",
    )
    port: int = Field(default=9999, description="port to listen on")

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

    # The server's own protection (docs/operations.md, "HTTP limits").
    http_parser: Literal["httptools", "h11"] = Field(
        default="httptools",
        description="the HTTP parser: httptools is the faster; h11 also bounds a request's head while "
        "it arrives (max_head_bytes; httptools' heads are checked once parsed, with 431). "
        "`pessoas serve --http` overrides it",
    )
    max_connections: int = Field(
        default=4096,
        description="connections (and requests in progress) beyond which 503 is answered; 0: none",
    )
    keepalive_timeout: int = Field(default=5, description="seconds an idle keep-alive connection stays")
    max_head_bytes: int = Field(
        default=32 * 1024,
        description="request line plus all headers (else 431; with h11, a longer head is also cut "
        "off while it arrives: 400 and the connection closes)",
    )

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
    database_read_url: str | None = Field(
        default=None,
        description="PostgreSQL conninfo of a hot standby for reads that may lag (search, get-by-id "
        "after the cache); unset reads from database_url. The count and every write use database_url",
    )
    database_pool_min: int = Field(default=2, description="PostgreSQL connections kept open per process")
    database_pool_max: int = Field(default=8, description="most PostgreSQL connections per process")

    redis_url: str | None = Field(
        default=None, description="Redis URL, shared by every API instance; needs PESSOAS_DATABASE_URL"
    )
    redis_pool_max: int = Field(default=64, description="Redis connections per process")
    redis_prefix: str = Field(default="pessoas:", description="namespace of every Redis key")
    redis_sentinels: str | None = Field(
        default=None,
        description="Sentinels as host:port[,host:port...]; set, the client asks them for the current "
        "primary (following a failover) and redis_url only gives the database, user and password",
    )
    redis_sentinel_master: str = Field(default="mymaster", description="the Sentinels' name of the primary")
    redis_sentinel_password: SecretStr | None = Field(
        default=None,
        description="password of the Sentinels themselves (their requirepass); the Redis servers' "
        "own password is redis_url's",
    )
    near_cache_max: int = Field(
        default=20_000,
        ge=0,
        description="pessoas each process keeps in its own memory in front of the shared cache, the "
        "least recently used forgotten first (0: none); a pessoa never changes, so no copy goes stale; "
        "without Redis, the bound of the in-memory cache (0: unbounded)",
    )
    redis_ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        description="expiry of the cached pessoas and apelidos; unset: they stay until Redis evicts "
        "them (run Redis with maxmemory and an LRU policy)",
    )

    amqp_url: str | None = Field(
        default=None,
        description="RabbitMQ URL, or several separated by commas (the nodes of a cluster: each "
        "connection goes to the first that answers); committed pessoas are announced to the worker, "
        "which indexes them for search; needs PESSOAS_DATABASE_URL",
    )
    queue_name: str = Field(default="pessoas", description="the durable queue the worker consumes")
    queue_type: Literal["classic", "quorum"] = Field(
        default="classic",
        description="x-queue-type of the queues: quorum replicates them on a cluster's nodes",
    )
    publish_window_ms: float = Field(
        default=100.0,
        ge=0,
        description="how long an announcement waits for others to share its message: search finds a "
        "pessoa up to this much later, and RabbitMQ and the worker handle fewer, larger messages",
    )
    publish_batch_max: int = Field(default=1000, ge=1, description="most ids in one announcement message")

    create_batch_max: int = Field(
        default=256, ge=1, description="most creations committed together in one transaction"
    )
    create_window_ms: float = Field(
        default=25.0,
        ge=0,
        description="how long a creation waits for others to share its transaction (0: it goes at "
        "once); those arriving while a transaction runs share the next one",
    )
    commits_in_flight: int = Field(
        default=1,
        ge=1,
        description="transactions of creations one process runs at once; creations arriving "
        "meanwhile wait and share the next one",
    )

    outage_pause_ms: float = Field(
        default=1000.0,
        ge=0,
        description="after storage was found unavailable, how long creations are refused at once "
        "(503) before the next transaction tries storage again",
    )

    reconcile_interval: float = Field(
        default=1.0,
        gt=0,
        description="seconds between two passes of the worker's reconciler, which indexes the committed "
        "pessoas whose announcement was lost",
    )
    worker_batch_max: int = Field(
        default=1000, ge=1, description="most ids the worker indexes in one statement"
    )

    @model_validator(mode="after")
    def _refuse_settings_that_could_lose_pessoas(self) -> Self:
        if self.amqp_url and not self.database_url:
            raise ValueError(
                "PESSOAS_AMQP_URL is set without PESSOAS_DATABASE_URL: the worker would store the "
                "queued pessoas in PostgreSQL while this process reads its own storage (the "
                "embedded SQLite storage runs in one process and takes no broker)"
            )
        if self.redis_url and not self.database_url:
            raise ValueError(
                "PESSOAS_REDIS_URL is set without PESSOAS_DATABASE_URL: instances sharing Redis "
                "would each keep their pessoas in their own storage (the embedded SQLite storage "
                "runs in one process and takes no Redis)"
            )
        explicit = self.storage
        if explicit == "postgres" and not self.database_url:
            raise ValueError("PESSOAS_STORAGE=postgres needs PESSOAS_DATABASE_URL")
        if explicit in ("sqlite", "memory") and self.database_url:
            raise ValueError(
                f"PESSOAS_STORAGE={explicit} with PESSOAS_DATABASE_URL set: pessoas would not be kept "
                "in the database named; unset one of the two"
            )
        return self

    @property
    def chosen_storage(self) -> Literal["sqlite", "postgres", "memory"]:
        if self.storage is not None:
            return self.storage
        return "postgres" if self.database_url else "sqlite"


def setting_names() -> dict[str, str]:
    """Every setting's environment variable and what it means, for ``--help``."""
    return {
        f"{ENV_PREFIX}{name.upper()}": (field.description or "")
        + (f" (default: {field.default})" if field.default is not None else "")
        for name, field in Settings.model_fields.items()
    }


class SettingsRefused(Exception):
    """The configuration could lose or hide pessoas, or cannot be read: the message says why, in one line."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings a process starts with, or :class:`SettingsRefused`.

    Besides the rules of :class:`Settings`, refuses a ``.env`` line naming no setting and an
    environment variable that looks like a misspelled one: either would leave a service unused
    without a word.
    """
    environ = os.environ if environ is None else environ
    known = setting_names()
    problems = [
        f"{name} in {ENV_FILE} is not a setting" + _did_you_mean(name, known)
        for name in _env_file_names()
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in known
    ]
    problems += [
        f"{name} is not a setting" + hint
        for name in environ
        if name.startswith(ENV_PREFIX) and name not in known and (hint := _did_you_mean(name, known))
    ]
    if problems:
        raise SettingsRefused("; ".join(problems))
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsRefused("; ".join(_reason(problem) for problem in error.errors())) from None


def _env_file_names() -> list[str]:
    path = Path(ENV_FILE)
    return list(dotenv_values(path)) if path.is_file() else []


def _did_you_mean(name: str, known: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(name.upper(), list(known), n=1, cutoff=0.85)
    return f" (did you mean {close[0]}?)" if close else ""


def _reason(problem: Mapping[str, Any]) -> str:
    context = problem.get("ctx") or {}
    if problem["type"] == "value_error" and "error" in context:
        return str(context["error"])  # the rules above already say what is wrong and why
    field = ".".join(map(str, problem.get("loc", ())))
    return f"{ENV_PREFIX}{field.upper()}: {problem['msg']}" if field else str(problem["msg"])
