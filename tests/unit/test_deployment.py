"""The deployment files: compose.yaml, the Dockerfile, the nginx config and the local stack.

No Docker engine runs here, so compose.yaml is checked as data: the topology, the envelope
(1.5 CPUs and 3 GB), health checks and start order, pinned images, and that every file it mounts
exists. The nginx config is checked with ``nginx -t`` as the local stack renders it; nginx must be
installed for that (.ci/run installs it): in CI a missing nginx fails the test, elsewhere it skips.
The local stack's supervisord config is run for real, on stand-ins for the programs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stack_supervisor import program_info, program_pid, rpc

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
NGINX_UPSTREAMS = ROOT / "deploy" / "nginx" / "upstream-servers.compose.conf"
STACK = ROOT / "deploy" / "local" / "stack.sh"
PROGRAMS = ("api1", "api2", "worker")

SERVICES = {"nginx", "api", "worker", "migrate", "postgres", "redis", "rabbitmq"}
LONG_RUNNING_WITH_HEALTHCHECK = {"nginx", "api", "postgres", "redis", "rabbitmq"}
MAX_CPUS = 1.5
MAX_MEMORY = 3 * 1024**3  # "3 GB" as Docker counts it (3g); the split stays below 3e9 bytes too
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
API_PORT = 8080


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The contest topology: every service that starts without a compose profile."""
    return {name: service for name, service in compose["services"].items() if not service.get("profiles")}


@pytest.fixture(scope="module")
def observability(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items() if service.get("profiles")}


def memory_bytes(value: str | int) -> int:
    """Docker's memory notation: a number with an optional b, k, m or g (binary units)."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", value.strip().lower())
    assert match, f"unreadable memory limit {value!r}"
    number, unit = match.groups()
    return int(float(number) * 1024 ** "bkmg".index(unit or "b"))


def limits(service: dict[str, Any]) -> dict[str, Any]:
    return service.get("deploy", {}).get("resources", {}).get("limits", {})


def replicas(service: dict[str, Any]) -> int:
    """How many containers compose runs for a service (deploy.replicas, 1 unless given)."""
    count = service.get("deploy", {}).get("replicas", 1)
    assert isinstance(count, int) and count >= 0
    return count


# --- compose.yaml ------------------------------------------------------------------------------


def test_memory_notation() -> None:
    assert memory_bytes("128M") == 128 * 1024**2
    assert memory_bytes("1g") == 1024**3
    assert memory_bytes("512mb") == 512 * 1024**2
    assert memory_bytes(1000) == 1000


def test_every_service_of_the_topology_is_there(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES


def test_nginx_publishes_9999(services: dict[str, Any]) -> None:
    published = set()
    for port in services["nginx"].get("ports", []):
        if isinstance(port, dict):
            published.add((str(port.get("published")), str(port.get("target"))))
        else:
            host_port, _, container_port = str(port).rpartition(":")
            published.add((host_port.rpartition(":")[2], container_port.split("/")[0]))
    assert ("9999", "9999") in published
    for name in SERVICES - {"nginx"}:
        assert not services[name].get("ports"), f"{name} publishes a port: only nginx should"


def test_resource_limits_fit_the_envelope(services: dict[str, Any]) -> None:
    cpus = 0.0
    memory = 0
    for name, service in services.items():
        limit = limits(service)
        assert "cpus" in limit, f"{name} has no CPU limit"
        assert "memory" in limit, f"{name} has no memory limit"
        assert float(limit["cpus"]) > 0
        cpus += replicas(service) * float(limit["cpus"])
        memory += replicas(service) * memory_bytes(limit["memory"])
    assert cpus <= MAX_CPUS + 1e-9, f"{cpus} CPUs in all"
    assert memory <= MAX_MEMORY, f"{memory / 1024**3:.2f} GiB in all"
    assert memory <= 3_000_000_000, "even with GB read as 10^9 bytes"


def test_every_mounted_file_exists(compose: dict[str, Any], services: dict[str, Any]) -> None:
    mounted = []
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and source.startswith((".", "/")):
                mounted.append((name, source))
    for config in (compose.get("configs") or {}).values():
        if "file" in config:
            mounted.append(("configs", config["file"]))
    assert mounted, "compose.yaml mounts the nginx config at least"
    for name, source in mounted:
        path = (ROOT / source).resolve()
        assert path.is_file(), f"{name} mounts {source}, which is not a file in the repo"
        assert ROOT in path.parents, f"{name} mounts {source} from outside the repo"


def test_healthchecks_and_start_order(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING_WITH_HEALTHCHECK:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable")

    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions (long syntax)"
        for target, how in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = how.get("condition")
            assert condition in CONDITIONS, f"{name} -> {target}: condition {condition!r}"
            if condition == "service_healthy":
                assert target in LONG_RUNNING_WITH_HEALTHCHECK, f"{target} has no healthcheck"

    def condition(name: str, target: str) -> str | None:
        return services[name].get("depends_on", {}).get(target, {}).get("condition")

    for name in ("api", "worker"):
        assert condition(name, "migrate") == "service_completed_successfully"
        for backing in ("postgres", "rabbitmq"):
            assert condition(name, backing) == "service_healthy"
    assert condition("api", "redis") == "service_healthy"
    assert condition("migrate", "postgres") == "service_healthy"
    assert condition("migrate", "rabbitmq") == "service_healthy"
    assert condition("nginx", "api") == "service_healthy"
    assert str(services["migrate"].get("restart", "no")) == "no"
    for name in SERVICES - {"migrate"}:
        assert services[name].get("restart") == "unless-stopped", name


def test_replicas(services: dict[str, Any]) -> None:
    assert replicas(services["api"]) == 2, "two API instances behind nginx"
    assert replicas(services["worker"]) >= 1
    assert "replicas" in services["worker"]["deploy"], "the worker's count is stated, not implied"
    for name in SERVICES - {"api", "worker"}:
        assert replicas(services[name]) == 1, f"{name}: one of it"
    # Replicas share the service's name, so nothing may pin a per-container identity on them.
    for name in ("api", "worker"):
        assert "hostname" not in services[name] and "container_name" not in services[name]


def test_postgres_and_rabbitmq_keep_their_data_in_named_volumes(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    declared = set(compose.get("volumes") or {})
    expected = {"postgres": "/var/lib/postgresql/data", "rabbitmq": "/var/lib/rabbitmq"}
    for name, target in expected.items():
        mounts = [str(v).split(":") for v in services[name].get("volumes", []) if isinstance(v, str)]
        named = {source: where for source, where, *_ in mounts if not source.startswith((".", "/"))}
        assert target in named.values(), f"{name}: no named volume on {target}"
        volume = next(source for source, where in named.items() if where == target)
        assert volume in declared, f"{volume} is not declared under the top-level volumes"
    # RabbitMQ's data directory is named after its node, so the node name must stay the same.
    assert services["rabbitmq"].get("hostname") == "rabbitmq"
    assert "volumes" not in services["redis"], "Redis holds only what PostgreSQL rebuilds"


def test_the_app_services_run_the_cli(services: dict[str, Any]) -> None:
    command = [str(part) for part in services["api"]["command"]]
    assert command[0] == "serve"
    assert command[command.index("--port") + 1] == str(API_PORT)
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        for key in ("PESSOAS_DATABASE_URL", "PESSOAS_REDIS_URL", "PESSOAS_AMQP_URL"):
            assert key in env, f"{name} lacks {key}"
        assert "@postgres:" in env["PESSOAS_DATABASE_URL"]
        assert "//redis:" in env["PESSOAS_REDIS_URL"]
        assert "@rabbitmq:" in env["PESSOAS_AMQP_URL"]


def option(command: list[str], name: str) -> str:
    """The value after ``name`` in a command line (the last one, as the program reads it)."""
    assert name in command, f"{name} is not given"
    return command[len(command) - 1 - command[::-1].index(name) + 1]


# Redis' memory units (redis.conf): k and m are powers of ten, kb and mb of two.
REDIS_UNITS = {"": 1, "k": 10**3, "kb": 2**10, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}


def redis_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]b?)?", value.strip().lower())
    assert match, f"unreadable Redis memory size {value!r}"
    return int(match.group(1)) * REDIS_UNITS[match.group(2) or ""]


def test_redis_is_a_bounded_cache_without_persistence(services: dict[str, Any]) -> None:
    # Nothing Redis holds is needed for a promise: at its bound it evicts any key (each one a
    # copy of what PostgreSQL holds), and it keeps nothing on disk.
    command = [str(part) for part in services["redis"]["command"]]
    assert command[0] == "redis-server"
    assert option(command, "--maxmemory-policy") == "allkeys-lru"
    assert option(command, "--save") == "" and option(command, "--appendonly") == "no"
    maxmemory = redis_bytes(option(command, "--maxmemory"))
    # Room beside the keys, within the container's limit, for Redis itself and its clients' buffers.
    limit = memory_bytes(limits(services["redis"])["memory"])
    assert 0 < maxmemory <= limit // 2, f"maxmemory {maxmemory} in a {limit}-byte container"
    assert option(["--save", "x", "--save", "y"], "--save") == "y"


# Settings the service no longer has (a 201 rests on PostgreSQL's commit alone; Redis is a cache,
# RabbitMQ carries search announcements): a configuration still naming one is out of date.
REMOVED_SETTINGS = (
    "PESSOAS_PUBLISH_DEADLINE",
    "PESSOAS_RABBITMQ_MANAGEMENT_URL",
    "PESSOAS_RABBITMQ_STATS_INTERVAL",
    "PESSOAS_REDIS_WAIT_REPLICAS",
)
CLUSTER = ROOT / "deploy" / "cluster" / "cluster.sh"


def deployment_files() -> list[Path]:
    files = [COMPOSE, ROOT / ".ci" / "run"]
    files += [path for path in (ROOT / "deploy").rglob("*") if path.is_file() and path.suffix != ".pyc"]
    return files


def test_no_deployment_names_a_removed_setting() -> None:
    for path in deployment_files():
        text = path.read_text(errors="replace")
        for name in REMOVED_SETTINGS:
            assert name not in text, f"{path.relative_to(ROOT)} names {name}, which is not a setting any more"


def test_every_setting_the_deployments_give_is_a_setting(services: dict[str, Any]) -> None:
    from pessoas.settings import Settings

    fields = {f"PESSOAS_{name.upper()}" for name in Settings.model_fields}
    for name in ("api", "worker", "migrate"):
        given = {key for key in services[name]["environment"] if key.startswith("PESSOAS_")}
        assert given <= fields, f"compose's {name}: not settings: {given - fields}"
    # The cluster's APIs and workers run with exactly what `cluster.sh env` prints.
    printed = subprocess.run(
        ["bash", str(CLUSTER), "env"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    given = {line.split("=", 1)[0] for line in printed.splitlines() if line}
    assert {"PESSOAS_DATABASE_URL", "PESSOAS_REDIS_SENTINELS", "PESSOAS_AMQP_URL"} <= given
    assert given <= fields, f"cluster.sh env: not settings: {given - fields}"


def test_nothing_needs_rabbitmqs_management_api(services: dict[str, Any]) -> None:
    # Its only reader was the restore of the reservations after a cache loss, gone with them:
    # no plugin to run in compose, none enabled by the local services' checks or the cluster.
    assert not services["rabbitmq"]["image"].endswith("-management")
    assert "collect_statistics_interval" not in (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text()
    for path in (COMPOSE, ROOT / "deploy/local/lib.sh", CLUSTER):
        text = path.read_text()
        assert "15672" not in text and "rabbitmq_management" not in text, path.relative_to(ROOT)
        assert "collect_statistics_interval" not in text and "quorum_tick_interval" not in text


TWO_PART_VERSIONS = {"postgres"}  # PostgreSQL 10 and later: 15.8 is an exact release


def pinned(image: str) -> bool:
    """An exact release: x.y.z or vx.y.z (x.y for PostgreSQL), never `latest` nor a bare major."""
    name, _, tag = image.rpartition(":")
    parts = 2 if name.rsplit("/", 1)[-1] in TWO_PART_VERSIONS else 3
    return bool(name) and "/" not in tag and re.match(rf"v?\d+(\.\d+){{{parts - 1}}}\b", tag) is not None


def test_images_are_pinned(services: dict[str, Any]) -> None:
    assert pinned("postgres:15.8-bookworm")
    assert not pinned("postgres:15")
    assert not pinned("redis:7.0")
    assert pinned("redis:7.0.15-alpine")
    assert pinned("prom/prometheus:v2.53.2")
    assert not pinned("prom/prometheus:v2")
    assert not pinned("nginx:latest")
    assert not pinned("redis")
    for name, service in services.items():
        if "build" in service:
            continue  # the project's own image, from the Dockerfile (checked below)
        image = service.get("image", "")
        assert pinned(image), f"{name}: image {image!r} is not pinned to an exact version"
    bases = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert bases
    for base in bases:
        assert pinned(base), f"Dockerfile: FROM {base} is not pinned"
        assert base.startswith("python:3.11")


def test_dockerfile_runs_as_non_root_and_installs_from_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    # The dependencies come from serving's install set of the lock, hashes checked; the project
    # itself is installed without resolving anything more.
    assert "COPY requirements/base.txt" in text
    assert re.search(r"pip install --require-hashes\b.*-r requirements/base\.txt", text)
    assert re.search(r"pip install --no-deps \.(\s|$)", text)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "*" in ignored and "!src/" in ignored and "!pyproject.toml" in ignored
    assert "!requirements/base.txt" in ignored


def test_postgres_keeps_its_durability(services: dict[str, Any]) -> None:
    command = " ".join(str(part) for part in services["postgres"]["command"])
    for unsafe in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
        assert unsafe not in command
    for setting in ("fsync=on", "synchronous_commit=on", "shared_buffers=", "max_connections="):
        assert setting in command
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "src").rglob("*.sql")]
    unlogged = re.compile(r"\b(CREATE|SET)\s+UNLOGGED\b", re.IGNORECASE)
    assert not [p.name for p in sources if unlogged.search(p.read_text())], "unlogged tables"


STACK_POSTGRES_SETTINGS = ROOT / "deploy" / "local" / "postgres.conf"


def postgres_settings_of_compose(services: dict[str, Any]) -> dict[str, str]:
    command = [str(part) for part in services["postgres"]["command"]]
    assert command[0] == "postgres" and command[1::2] == ["-c"] * (len(command) // 2)
    return dict(setting.split("=", 1) for setting in command[2::2])


def postgres_settings_of_the_stack(text: str) -> dict[str, str]:
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    pairs = [line.split("=", 1) for line in lines if line]
    return {name.strip(): value.strip() for name, value in pairs}


def test_the_local_stacks_postgres_has_exactly_composes_settings(services: dict[str, Any]) -> None:
    # deploy/local/stack.sh gives its own cluster deploy/local/postgres.conf: the benchmark must
    # measure the PostgreSQL compose deploys, not a differently tuned one.
    stack = postgres_settings_of_the_stack(STACK_POSTGRES_SETTINGS.read_text())
    assert stack == postgres_settings_of_compose(services)
    assert stack["fsync"] == "on" and stack["synchronous_commit"] == "on"


def test_a_setting_that_differs_between_compose_and_the_stack_is_seen(services: dict[str, Any]) -> None:
    text = STACK_POSTGRES_SETTINGS.read_text().replace("shared_buffers = 256MB", "shared_buffers = 128MB")
    assert postgres_settings_of_the_stack(text) != postgres_settings_of_compose(services)
    dropped = "\n".join(line for line in text.splitlines() if not line.startswith("jit"))
    assert "jit" not in postgres_settings_of_the_stack(dropped)


# --- nginx -------------------------------------------------------------------------------------


def directives(text: str) -> list[str]:
    """The config's directives, one per entry, comments and blank space removed."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [" ".join(d.split()) for d in re.split(r"[;{}]", "\n".join(lines)) if d.strip()]


def test_nginx_settings() -> None:
    found = directives(NGINX_CONF.read_text())
    for expected in (
        "client_max_body_size 64k",
        "access_log off",
        "proxy_http_version 1.1",
        'proxy_set_header Connection ""',
        "proxy_pass http://api",
        "upstream api",
        "include upstream-servers.conf",
        "listen 9999 backlog=4096",
    ):
        assert expected in found, expected
    assert any(re.fullmatch(r"keepalive \d+", d) for d in found), "upstream keepalive"
    connections = [int(d.split()[1]) for d in found if d.startswith("worker_connections ")]
    assert connections and connections[0] >= 4096
    assert not any(d.startswith(("pid ", "error_log ")) for d in found), "set per deployment"


def test_nginx_upstreams_are_the_compose_services(services: dict[str, Any]) -> None:
    servers = [d.split()[1] for d in directives(NGINX_UPSTREAMS.read_text())]
    hosts = [server.rpartition(":")[0] for server in servers]
    # One name for every replica: nginx balances over all the addresses it resolves to.
    assert hosts == ["api"]
    assert all(host in services for host in hosts)
    assert {server.rpartition(":")[2] for server in servers} == {str(API_PORT)}
    volumes = " ".join(services["nginx"]["volumes"])
    assert "upstream-servers.compose.conf:/etc/nginx/upstream-servers.conf" in volumes
    assert "nginx.conf:/etc/nginx/nginx.conf" in volumes


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


@pytest.mark.parametrize("transport", ["uds", "tcp"])
def test_nginx_accepts_the_local_config(tmp_path: Path, transport: str) -> None:
    nginx = nginx_binary()
    if nginx is None:
        message = "nginx is not installed (.ci/run and deploy/local/stack.sh up install it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "PESSOAS_UPSTREAM": transport}
    subprocess.run(
        ["bash", str(STACK), "render-nginx", str(tmp_path)],
        check=True,
        env=env,
        timeout=60,
        capture_output=True,
    )
    servers = directives((tmp_path / "upstream-servers.conf").read_text())
    assert len(servers) == 2
    assert all(s.startswith("server unix:" if transport == "uds" else "server 127.0.0.1:") for s in servers)
    # Everything in tmp_path: no port is bound by -t, no shared file is touched.
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            f"{tmp_path}/",
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
            "-g",
            f"pid {tmp_path}/nginx.pid;",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


# --- the local stack's scripts -----------------------------------------------------------------


def test_shell_scripts_parse() -> None:
    cluster = ROOT / "deploy" / "cluster" / "cluster.sh"
    for script in (STACK, ROOT / "deploy" / "local" / "lib.sh", ROOT / ".ci" / "run", cluster):
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    assert os.access(STACK, os.X_OK) and os.access(ROOT / ".ci" / "run", os.X_OK)
    assert os.access(cluster, os.X_OK)


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


STAND_IN = """\
import os, signal, sys, time
role = sys.argv[1]  # serve or worker, as `pessoas` is called

child = os.fork() if role == "worker" else None  # in its process group, as dramatiq's are
if child == 0:
    parent = os.getppid()
    while os.getppid() == parent:  # stops once orphaned, as the worker's StopWhenOrphaned does
        time.sleep(0.05)
    sys.exit(0)

def stop(*_):
    if child:
        os.kill(child, signal.SIGTERM)
        os.waitpid(child, 0)
    print(role, "graceful", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
print(role, "started", flush=True)
while True:
    time.sleep(0.05)
"""


def test_supervisord_restarts_a_dead_program_and_stops_gracefully(tmp_path: Path) -> None:
    """The stack's own supervisord config, rendered by stack.sh, run on stand-ins for `pessoas`."""
    stand_in = tmp_path / "pessoas"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}")
    stand_in.chmod(0o755)
    run = tmp_path / "run"
    run.mkdir()
    env = {**os.environ, "PESSOAS_EXECUTABLE": str(stand_in), "PESSOAS_STOP_TIMEOUT": "10"}
    subprocess.run(["bash", str(STACK), "render-supervisor", str(run)], check=True, env=env, timeout=60)
    conf = (run / "supervisord.conf").read_text()
    assert "stopwaitsecs=10" in conf and "autorestart=true" in conf and "killasgroup=true" in conf
    logs = run / "logs"
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).parent / "supervisord"), "-c", str(run / "supervisord.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def started(name: str) -> int:
        log = logs / f"{name}.log"
        return log.read_text().count("started") if log.exists() else 0

    def pid(name: str) -> int | None:
        return program_pid(run, name)

    def state(name: str) -> str | None:
        info = program_info(run, name)
        return info["statename"] if info else None

    try:
        # stack.sh starts the programs itself, once what they need answers.
        assert wait_until(lambda: program_info(run, "api1") is not None, 30), "supervisord does not answer"
        rpc(run).supervisor.startProcessGroup("pessoas")
        # Each prints "started" once its SIGTERM handler is in place.
        assert wait_until(lambda: all(started(name) == 1 for name in PROGRAMS), 30)
        assert wait_until(lambda: all(state(name) == "RUNNING" for name in PROGRAMS), 30)
        first = {name: pid(name) for name in PROGRAMS}
        assert all(first.values()), first
        worker_child = int(subprocess.check_output(["pgrep", "-P", str(first["worker"])], text=True))

        os.kill(first["api1"], signal.SIGKILL)  # type: ignore[arg-type]
        os.kill(first["worker"], signal.SIGKILL)  # type: ignore[arg-type]
        # A new process at once (generous bound: a loaded CI machine); the others untouched.
        assert wait_until(lambda: pid("api1") not in (None, first["api1"]), 10)
        assert wait_until(lambda: pid("worker") not in (None, first["worker"]), 10)
        assert pid("api2") == first["api2"]
        assert wait_until(lambda: started("api1") == 2 and started("worker") == 2, 10)
        # What the dead worker left in its process group stops by itself, orphaned.
        assert wait_until(lambda: not alive(worker_child), 10), "the dead worker's child lives on"

        supervisord.send_signal(signal.SIGTERM)
        output, _ = supervisord.communicate(timeout=60)
    finally:
        if supervisord.poll() is None:
            os.killpg(supervisord.pid, signal.SIGKILL)
            supervisord.communicate()
        # Never let a stand-in outlive the test, whatever failed.
        subprocess.run(["pkill", "-KILL", "-f", str(stand_in)], check=False)
    assert supervisord.returncode == 0, output
    for name in PROGRAMS:
        assert f"{'worker' if name == 'worker' else 'serve'} graceful" in (logs / f"{name}.log").read_text()
        assert started(name) == (1 if name == "api2" else 2), "no restart once stopping"
    assert not (run / "supervisord.pid").exists()
    assert not subprocess.run(["pgrep", "-f", str(stand_in)], capture_output=True).stdout


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# --- observability: readiness, metrics, Prometheus and Grafana ---------------------------------

PROMETHEUS_COMPOSE = ROOT / "deploy" / "prometheus" / "prometheus.compose.yml"
PROMETHEUS_LOCAL = ROOT / "deploy" / "prometheus" / "prometheus.local.yml"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "pessoas.json"


def test_traffic_decisions_use_ready(services: dict[str, Any]) -> None:
    for name in ("api", "nginx"):
        command = " ".join(str(part) for part in services[name]["healthcheck"]["test"])
        assert "/ready" in command and "/health" not in command, name


def test_observability_services_are_behind_a_profile_with_pinned_images(
    compose: dict[str, Any], observability: dict[str, Any]
) -> None:
    assert set(observability) == {"prometheus", "grafana"}
    for name, service in observability.items():
        assert service["profiles"] == ["observability"], name
        assert pinned(service["image"]), f"{name}: {service['image']} is not pinned"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (ROOT / source).is_file(), f"{name} mounts {source}, which is not in the repo"


def test_every_app_process_serves_metrics_on_a_private_port(services: dict[str, Any]) -> None:
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["PESSOAS_METRICS_PORT"] == "9100"
        assert env["PESSOAS_METRICS_HOST"] == "0.0.0.0"  # inside the compose network: no published port


def test_prometheus_scrapes_every_instance_and_the_worker(services: dict[str, Any]) -> None:
    config = yaml.safe_load(PROMETHEUS_COMPOSE.read_text())
    # Every replica of each service: compose's DNS answers a service's name with all of them.
    discovered = {
        (name, sd["port"])
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    assert discovered == {("api", 9100), ("worker", 9100)}
    assert {name for name, _ in discovered} <= set(services)
    local = yaml.safe_load(PROMETHEUS_LOCAL.read_text())
    (files,) = [sd["files"] for job in local["scrape_configs"] for sd in job["file_sd_configs"]]
    assert (PROMETHEUS_LOCAL.parent / files[0]).resolve() == ROOT / "run" / "prometheus-targets.json"


def test_grafana_provisions_prometheus_and_the_dashboard(observability: dict[str, Any]) -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "pessoas.yaml").read_text())
    (provider,) = providers["providers"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in observability["grafana"]["volumes"]}
    dashboard_mount = f"{provider['options']['path']}/pessoas.json"
    assert (ROOT / mounts[dashboard_mount]).resolve() == DASHBOARD
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel["targets"]}
    assert uids == {source["uid"]}


def test_the_dashboard_shows_what_the_service_exports() -> None:
    # Importing the modules registers every metric the service and the worker export.
    from prometheus_client import REGISTRY

    import pessoas.adapters.prometheus_metrics
    import pessoas.entrypoints.http.metrics
    import pessoas.entrypoints.worker_metrics  # noqa: F401

    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    exported = {
        family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, [""])
    }
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])
    used = set(re.findall(r"\b((?:http|pessoas|process)_[a-z_]+)\b", expressions))
    assert used, "the dashboard queries nothing"
    assert used <= exported, f"the dashboard queries metrics nobody exports: {used - exported}"
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for subject in (
        "requests per second",
        "latency",
        "committed",
        "refused",
        "commit batch",
        "indexed",
        "dead-lettered",
        "worker lag",
    ):
        assert subject in titles, subject


def test_the_stack_writes_file_sd_targets_for_every_metrics_port(tmp_path: Path) -> None:
    target_file = tmp_path / "targets.json"
    env = {**os.environ, "PESSOAS_METRICS_PORTS": "9201 9202 9203", "PESSOAS_WORKER_ARGS": "--processes 2"}
    subprocess.run(
        ["bash", str(STACK), "render-targets", str(target_file)],
        check=True,
        env=env,
        timeout=60,
        capture_output=True,
    )
    groups = json.loads(target_file.read_text())
    assert all(set(group) == {"targets", "labels"} for group in groups)
    targets = [target for group in groups for target in group["targets"]]
    # One port serves every process of the worker command, whatever --processes says.
    assert targets == ["127.0.0.1:9201", "127.0.0.1:9202", "127.0.0.1:9203"]
    assert [group["labels"]["job"] for group in groups] == ["pessoas-api"] * 2 + ["pessoas-worker"]
