"""The Kubernetes manifests (deploy/k8s), checked offline.

Both the base and the contest overlay are rendered with deploy/k8s/render.py. The core kinds are
validated against Kubernetes' own schemas (kubernetes-validate, strict: an unknown field fails).
The operators' kinds have no schema there, so ``OPERATOR_API`` below writes down, from each
operator's published API reference, the fields this deployment uses and their types; a field
outside it, or of another type, fails. Then what the deployment relies on is checked across
objects: replica counts, references between objects (Services, Secrets, ConfigMaps, the
Sentinels' replication), probes, settings names, and the contest envelope.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pessoas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
CONTEST = K8S / "overlays" / "contest"
KUBERNETES_VERSION = "1.30.0"  # the oldest release with preStop `sleep` (used by the API)

MAX_MILLICPUS = 1500
MAX_MEMORY = 3_000_000_000  # "3 GB" read as 10^9 bytes: stricter than 3 GiB
API_PORT = 8080

Object = dict[str, Any]


def load_renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("k8s_render", K8S / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_module = load_renderer()


@pytest.fixture(scope="module", params=["base", "contest"])
def rendered(request: pytest.FixtureRequest) -> list[Object]:
    objects: list[Object] = render_module.render(BASE if request.param == "base" else CONTEST)
    return objects


@pytest.fixture(scope="module")
def contest() -> list[Object]:
    objects: list[Object] = render_module.render(CONTEST)
    return objects


def find(objects: list[Object], kind: str, name: str | None = None) -> list[Object]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[Object], kind: str, name: str) -> Object:
    found = find(objects, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


# --- the operators' documented API -------------------------------------------------------------

# Field path (dots; [] for a list's items) -> the type the operator's API reference gives it.
# A path ending in "*" admits any content below it (a Kubernetes type such as ResourceRequirements,
# validated by the operator against Kubernetes' own schema, or a free-form map).
# Sources: RabbitMQ Cluster Operator, API reference for rabbitmq.com/v1beta1 (RabbitmqClusterSpec);
# CloudNativePG, API reference for postgresql.cnpg.io/v1 (ClusterSpec, BootstrapInitDB,
# StorageConfiguration, PostgresConfiguration); OT-CONTAINER-KIT redis-operator, API reference for
# redis.redis.opstreelabs.in/v1beta2 (RedisReplicationSpec, RedisSentinelSpec, KubernetesConfig,
# RedisConfig, RedisSentinelConfig: note its numbers are strings there).
OPERATOR_API: dict[tuple[str, str], dict[str, type | str]] = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): {
        "spec.replicas": int,
        "spec.image": str,
        "spec.resources": "*",
        "spec.persistence.storage": str,
        "spec.persistence.storageClassName": str,
        "spec.service.type": str,
        "spec.rabbitmq.additionalConfig": str,
        "spec.rabbitmq.additionalPlugins": list,
    },
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "spec.instances": int,
        "spec.imageName": str,
        "spec.primaryUpdateStrategy": str,
        "spec.bootstrap.initdb.database": str,
        "spec.bootstrap.initdb.owner": str,
        "spec.bootstrap.initdb.secret.name": str,
        "spec.storage.size": str,
        "spec.storage.storageClass": str,
        "spec.resources": "*",
        "spec.postgresql.parameters": "*",
        # PostgresConfiguration.synchronous (SynchronousReplicaConfiguration): CloudNativePG 1.24,
        # dataDurability 1.25.
        "spec.postgresql.synchronous.method": str,
        "spec.postgresql.synchronous.number": int,
        "spec.postgresql.synchronous.dataDurability": str,
    },
    ("redis.redis.opstreelabs.in/v1beta2", "RedisReplication"): {
        "spec.clusterSize": int,
        "spec.kubernetesConfig.image": str,
        "spec.kubernetesConfig.imagePullPolicy": str,
        "spec.kubernetesConfig.resources": "*",
        "spec.redisConfig.additionalRedisConfig": str,
        "spec.storage": "*",
        "spec.podSecurityContext": "*",
    },
    ("redis.redis.opstreelabs.in/v1beta2", "RedisSentinel"): {
        "spec.clusterSize": int,
        "spec.kubernetesConfig.image": str,
        "spec.kubernetesConfig.imagePullPolicy": str,
        "spec.kubernetesConfig.resources": "*",
        "spec.redisSentinelConfig.redisReplicationName": str,
        "spec.redisSentinelConfig.masterGroupName": str,
        "spec.redisSentinelConfig.redisPort": str,
        "spec.redisSentinelConfig.quorum": str,
        "spec.redisSentinelConfig.downAfterMilliseconds": str,
        "spec.redisSentinelConfig.failoverTimeout": str,
        "spec.redisSentinelConfig.parallelSyncs": str,
        "spec.podSecurityContext": "*",
    },
}


def leaves(value: Any, path: str, documented: dict[str, type | str]) -> Iterator[tuple[str, Any]]:
    """The (path, value) pairs of ``value`` down to documented paths (or undocumented leaves)."""
    if path in documented:
        yield path, value
    elif isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}", documented)
    else:
        yield path, value


def test_operator_field_check_catches_a_misspelt_or_mistyped_field() -> None:
    documented = OPERATOR_API[("rabbitmq.com/v1beta1", "RabbitmqCluster")]
    good = {"spec": {"replicas": 3, "persistence": {"storage": "1Gi"}}}
    assert operator_field_errors(good, documented) == []
    assert operator_field_errors({"spec": {"replica": 3}}, documented) == ["spec.replica: not in the API"]
    assert operator_field_errors({"spec": {"replicas": "3"}}, documented) == [
        "spec.replicas: str, the API says int"
    ]


def operator_field_errors(obj: Object, documented: dict[str, type | str]) -> list[str]:
    errors = []
    for path, value in leaves(obj.get("spec", {}), "spec", documented):
        expected = documented.get(path)
        if expected is None:
            errors.append(f"{path}: not in the API")
        elif expected != "*" and not (isinstance(value, expected) and not isinstance(value, bool)):
            assert isinstance(expected, type)
            errors.append(f"{path}: {type(value).__name__}, the API says {expected.__name__}")
    return errors


def test_every_object_is_valid(rendered: list[Object]) -> None:
    kinds = {o["kind"] for o in rendered}
    for required in (
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
        "RabbitmqCluster",
        "Cluster",
        "RedisReplication",
        "RedisSentinel",
    ):
        assert required in kinds, f"no {required}"
    for obj in rendered:
        key = (obj["apiVersion"], obj["kind"])
        if key in OPERATOR_API:
            assert operator_field_errors(obj, OPERATOR_API[key]) == [], obj["metadata"]["name"]
        else:
            # Raises ValidationError on a schema violation, SchemaNotFoundError on an unknown kind.
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_bad_core_object(contest: list[Object]) -> None:
    deployment = one(contest, "Deployment", "pessoas-api")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# --- the backing services ----------------------------------------------------------------------


def config(objects: list[Object]) -> dict[str, str]:
    data: dict[str, str] = one(objects, "ConfigMap", "pessoas-config")["data"]
    return data


def test_backing_services_are_replicated(rendered: list[Object]) -> None:
    assert one(rendered, "RabbitmqCluster", "pessoas-rabbitmq")["spec"]["replicas"] == 3
    assert one(rendered, "Cluster", "pessoas-db")["spec"]["instances"] == 2
    # A replica for the Sentinels to promote: the cache stays available when its primary is lost.
    assert one(rendered, "RedisReplication", "pessoas-redis")["spec"]["clusterSize"] >= 2
    sentinel = one(rendered, "RedisSentinel", "pessoas-redis")["spec"]
    assert sentinel["clusterSize"] == 3
    assert int(sentinel["redisSentinelConfig"]["quorum"]) == 2, "a majority of three"
    # A quorum queue, or the three nodes replicate nothing.
    assert config(rendered)["PESSOAS_QUEUE_TYPE"] == "quorum"


def test_a_postgres_failover_loses_no_commit(rendered: list[Object]) -> None:
    # A 201 means the primary committed the pessoa: the standby the operator promotes must hold
    # every acknowledged commit, so every commit waits for one standby (quorum of one among the
    # standbys), and keeps waiting while none is there (required) rather than going on alone.
    spec = one(rendered, "Cluster", "pessoas-db")["spec"]
    synchronous = spec["postgresql"]["synchronous"]
    assert synchronous == {"method": "any", "number": 1, "dataDurability": "required"}
    assert 1 <= synchronous["number"] <= spec["instances"] - 1, "more synchronous standbys than standbys"
    # The deprecated minSyncReplicas/maxSyncReplicas cannot be combined with the stanza, and they
    # turn synchronous replication off when no standby is ready.
    assert "minSyncReplicas" not in spec and "maxSyncReplicas" not in spec
    # A commit is acknowledged only once flushed (on the primary, and by the standby).
    assert spec["postgresql"]["parameters"].get("synchronous_commit", "on") in {"on", "remote_apply"}


# Settings the service no longer has (a 201 rests on PostgreSQL's commit alone): nothing may set them.
REMOVED_SETTINGS = (
    "PESSOAS_PUBLISH_DEADLINE",
    "PESSOAS_RABBITMQ_MANAGEMENT_URL",
    "PESSOAS_RABBITMQ_STATS_INTERVAL",
    "PESSOAS_REDIS_WAIT_REPLICAS",
)

# Redis' memory units (redis.conf): k and m are powers of ten, kb and mb of two.
REDIS_UNITS = {"": 1, "k": 10**3, "kb": 2**10, "m": 10**6, "mb": 2**20, "g": 10**9, "gb": 2**30}


def redis_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]b?)?", value.strip().lower())
    assert match, f"unreadable Redis memory size {value!r}"
    return int(match.group(1)) * REDIS_UNITS[match.group(2) or ""]


def redis_directives(text: str) -> dict[str, str]:
    """A redis.conf's directives: name -> the rest of its line (comments dropped)."""
    found = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(None, 1)
        if words:
            found[words[0]] = words[1].strip() if len(words) > 1 else ""
    return found


def test_redis_units() -> None:
    assert redis_bytes("48mb") == 48 * 2**20 and redis_bytes("64m") == 64 * 10**6
    assert redis_bytes("1gb") == 2**30 and redis_bytes("1024") == 1024
    assert redis_directives('save ""\nmaxmemory 48mb # bound\n') == {"save": '""', "maxmemory": "48mb"}


def test_redis_is_a_bounded_cache(rendered: list[Object]) -> None:
    replication = one(rendered, "RedisReplication", "pessoas-redis")["spec"]
    config_map = one(rendered, "ConfigMap", replication["redisConfig"]["additionalRedisConfig"])
    (text,) = config_map["data"].values()
    directives = redis_directives(text)
    # Evicts any key at its bound (every key is a copy of PostgreSQL's), keeps nothing on disk.
    assert directives["maxmemory-policy"] == "allkeys-lru"
    assert directives["save"] == '""' and directives["appendonly"] == "no"
    # The bound leaves room, within the container's limit, for Redis itself and the client and
    # replication buffers maxmemory does not count: at most two thirds of the limit.
    maxmemory = redis_bytes(directives["maxmemory"])
    limit = memory_bytes(replication["kubernetesConfig"]["resources"]["limits"]["memory"])
    assert 0 < maxmemory <= limit * 2 // 3, f"maxmemory {maxmemory} in a {limit}-byte container"


def test_nothing_sets_a_removed_setting_or_reads_the_management_api(rendered: list[Object]) -> None:
    text = yaml.safe_dump(rendered)
    for name in REMOVED_SETTINGS:
        assert name not in text, f"{name} is not a setting any more"
    # The restore after a cache loss, gone with the reservations, was its only reader.
    assert "AMQP_MANAGEMENT_PORT" not in text and "15672" not in text
    spec = one(rendered, "RabbitmqCluster", "pessoas-rabbitmq")["spec"]
    assert "collect_statistics_interval" not in spec["rabbitmq"]["additionalConfig"]


def test_the_application_reaches_what_the_operators_create(rendered: list[Object]) -> None:
    settings = config(rendered)
    rabbitmq = one(rendered, "RabbitmqCluster", "pessoas-rabbitmq")["metadata"]["name"]
    database = one(rendered, "Cluster", "pessoas-db")
    replication = one(rendered, "RedisReplication", "pessoas-redis")["metadata"]["name"]
    sentinel = one(rendered, "RedisSentinel", "pessoas-redis")

    # Each operator names its Services after its resource: RabbitMQ's client Service is the
    # cluster's name, CloudNativePG's are <name>-rw and <name>-ro, redis-operator's are the
    # replication's name and <sentinel name>-sentinel.
    assert settings["AMQP_HOST"] == rabbitmq
    assert settings["DATABASE_HOST"] == f"{database['metadata']['name']}-rw"
    assert settings["DATABASE_READ_HOST"] == f"{database['metadata']['name']}-ro"
    assert settings["PESSOAS_REDIS_URL"].startswith(f"redis://{replication}:")
    assert settings["PESSOAS_REDIS_SENTINELS"] == f"{sentinel['metadata']['name']}-sentinel:26379"

    sentinel_config = sentinel["spec"]["redisSentinelConfig"]
    assert sentinel_config["redisReplicationName"] == replication
    assert sentinel_config["masterGroupName"] == settings["PESSOAS_REDIS_SENTINEL_MASTER"]

    initdb = database["spec"]["bootstrap"]["initdb"]
    assert initdb["database"] == settings["DATABASE_NAME"]
    owner = one(rendered, "Secret", initdb["secret"]["name"])
    assert owner["type"] == "kubernetes.io/basic-auth"
    assert owner["stringData"]["username"] == initdb["owner"]


def operator_secrets(objects: list[Object]) -> set[str]:
    """The Secrets the operators create: the RabbitMQ Cluster Operator's default user."""
    return {f"{o['metadata']['name']}-default-user" for o in find(objects, "RabbitmqCluster")}


def app_pods(objects: list[Object]) -> Iterator[tuple[str, Object]]:
    for obj in [*find(objects, "Deployment"), *find(objects, "Job")]:
        yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def test_every_reference_of_the_app_containers_resolves(rendered: list[Object]) -> None:
    secrets = {o["metadata"]["name"]: o for o in find(rendered, "Secret")}
    config_maps = {o["metadata"]["name"]: o for o in find(rendered, "ConfigMap")}
    created_by_operators = operator_secrets(rendered)
    fields = {f"PESSOAS_{name.upper()}" for name in Settings.model_fields}
    for name, pod in app_pods(rendered):
        for container in pod["containers"]:
            defined: set[str] = set()
            for source in container.get("envFrom", []):
                config_map = config_maps[source["configMapRef"]["name"]]
                defined |= set(config_map["data"])
            for variable in container.get("env", []):
                secret_ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if secret_ref:
                    if secret_ref["name"] in created_by_operators:
                        assert secret_ref["key"] in {"username", "password"}
                    else:
                        secret = secrets[secret_ref["name"]]
                        assert secret_ref["key"] in secret.get("stringData", secret.get("data", {}))
                # $(VAR) expands only from variables defined before, in the same container.
                for reference in re.findall(r"\$\(([A-Z_]+)\)", variable.get("value", "")):
                    assert reference in defined, f"{name}: {variable['name']} uses $({reference}) undefined"
                defined.add(variable["name"])
            settings_names = {v for v in defined if v.startswith("PESSOAS_")}
            assert settings_names <= fields, f"{name}: not settings: {settings_names - fields}"
            for required in ("PESSOAS_DATABASE_URL", "PESSOAS_AMQP_URL", "PESSOAS_QUEUE_TYPE"):
                assert required in defined, f"{name} lacks {required}"


# --- the application ---------------------------------------------------------------------------


def test_api_probes_and_port(rendered: list[Object]) -> None:
    deployment = one(rendered, "Deployment", "pessoas-api")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[0] == "serve" and args[args.index("--port") + 1] == str(API_PORT)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": API_PORT}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # Liveness must tolerate more than readiness: a restart is the costlier answer.
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > (
        readiness["periodSeconds"] * readiness["failureThreshold"]
    )
    worker = one(rendered, "Deployment", "pessoas-worker")
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == ["worker"]
    assert one(rendered, "Job", "pessoas-migrate")["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "migrate"
    ]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_service_ingress_hpa_and_pdbs_point_at_the_right_pods(rendered: list[Object]) -> None:
    api = one(rendered, "Deployment", "pessoas-api")
    worker = one(rendered, "Deployment", "pessoas-worker")
    api_labels = api["spec"]["template"]["metadata"]["labels"]
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    assert selects(api["spec"]["selector"]["matchLabels"], api_labels)

    service = one(rendered, "Service", "pessoas-api")
    assert selects(service["spec"]["selector"], api_labels)
    assert not selects(service["spec"]["selector"], worker_labels)
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    assert all(p["targetPort"] == "http" for p in service["spec"]["ports"])

    ingress = one(rendered, "Ingress", "pessoas")
    backends = [
        path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    ]
    assert backends and all(
        b["name"] == "pessoas-api" and b["port"]["name"] in service_ports for b in backends
    )

    hpa = one(rendered, "HorizontalPodAutoscaler", "pessoas-api")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "pessoas-api",
    }
    assert hpa["spec"]["minReplicas"] == api["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]

    budgets = {p["metadata"]["name"]: p["spec"] for p in find(rendered, "PodDisruptionBudget")}
    assert selects(budgets["pessoas-api"]["selector"]["matchLabels"], api_labels)
    assert budgets["pessoas-api"]["minAvailable"] < api["spec"]["replicas"], "a node can still be drained"
    assert selects(budgets["pessoas-worker"]["selector"]["matchLabels"], worker_labels)


def test_the_contest_overlay(contest: list[Object]) -> None:
    assert one(contest, "Namespace", "pessoas")
    for obj in contest:
        if obj["kind"] != "Namespace":  # the overlay's own, outside the base's labels
            assert obj["metadata"]["namespace"] == "pessoas", obj["metadata"]["name"]
            assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pessoas"
    images = {c["image"] for _, pod in app_pods(contest) for c in pod["containers"]}
    assert images == {"registry.example.org/pessoas:0.1.0"}
    hpa = one(contest, "HorizontalPodAutoscaler", "pessoas-api")["spec"]
    assert hpa["maxReplicas"] == hpa["minReplicas"]
    assert one(contest, "Ingress", "pessoas")["spec"]["rules"][0]["host"]


# --- the envelope ------------------------------------------------------------------------------

QUANTITY_SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def millicpus(value: str | int | float) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else round(float(text) * 1000)


def memory_bytes(value: str | int) -> int:
    match = re.fullmatch(r"(\d+)([kMG]i?)?", str(value))
    assert match, f"unreadable quantity {value!r}"
    return int(match.group(1)) * QUANTITY_SUFFIXES[match.group(2) or ""]


def test_quantities() -> None:
    assert millicpus("300m") == 300 and millicpus("1.5") == 1500 and millicpus(2) == 2000
    assert memory_bytes("224Mi") == 224 * 2**20 and memory_bytes("1G") == 10**9


def workloads(objects: list[Object]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(name, how many run at most, the resources of one) for every long-running workload."""
    hpa_max = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
        for h in find(objects, "HorizontalPodAutoscaler")
    }
    for deployment in find(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        count = hpa_max.get(name, deployment["spec"]["replicas"])
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield f"{name}/{container['name']}", count, container["resources"]
    for cluster in find(objects, "RabbitmqCluster"):
        yield cluster["metadata"]["name"], cluster["spec"]["replicas"], cluster["spec"]["resources"]
    for cluster in find(objects, "Cluster"):
        yield cluster["metadata"]["name"], cluster["spec"]["instances"], cluster["spec"]["resources"]
    for kind in ("RedisReplication", "RedisSentinel"):
        for redis in find(objects, kind):
            resources = redis["spec"]["kubernetesConfig"]["resources"]
            yield f"{kind}/{redis['metadata']['name']}", redis["spec"]["clusterSize"], resources


def test_the_contest_deployment_fits_the_envelope_at_its_largest(contest: list[Object]) -> None:
    cpu = memory = 0
    for name, count, resources in workloads(contest):
        assert resources["requests"] == resources["limits"], f"{name}: requests = limits (Guaranteed)"
        cpu += count * millicpus(resources["limits"]["cpu"])
        memory += count * memory_bytes(resources["limits"]["memory"])
    assert cpu <= MAX_MILLICPUS, f"{cpu}m in all"
    assert memory <= MAX_MEMORY, f"{memory / 1e9:.2f} GB in all"
