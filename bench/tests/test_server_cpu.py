"""The CPU recorder counts the CPU a component used while it recorded, by command line."""

import subprocess
import sys
import time

from bench.server_cpu import OUTSIDE_THE_ENVELOPE, Recorder, component_of


def test_components_are_told_apart_by_command_line():
    assert component_of("/work/.venv/bin/python /work/.venv/bin/pessoas serve --uds run/api1.sock") == "api1"
    assert component_of("/usr/bin/python3 /usr/bin/supervisord -c run/supervisord.conf") == "supervisor"
    assert component_of("python -m dramatiq pessoas.entrypoints.worker --processes 1") == "worker"
    assert component_of("nginx: worker process") == "nginx"
    assert component_of("postgres: pessoas-stack: pessoas pessoas 127.0.0.1(5000) idle") == "postgres"
    assert component_of("/usr/lib/postgresql/15/bin/postgres -D /w/run/postgres/data") == "postgres"
    assert component_of("/usr/lib/erlang/erts-13/bin/beam.smp -W w") == "rabbitmq"
    assert component_of("python -m bench.load --out x") == "loadtool"
    assert component_of("bash") is None


def test_postgresql_other_than_the_stacks_is_outside_the_server_side():
    # The machine's default cluster runs beside the stack's (the tests use it): not the server's CPU.
    assert component_of("postgres: 15/main: checkpointer") == "postgres-other"
    machine_postmaster = "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"
    assert component_of(machine_postmaster) == "postgres-other"
    assert "postgres-other" in OUTSIDE_THE_ENVELOPE and "postgres" not in OUTSIDE_THE_ENVELOPE


def _recorded_while_running(code: str) -> dict:
    """What the recorder saw while a Python child ran ``code`` under a command line naming api3."""
    recorder = Recorder(cgroup="no-such-cgroup")
    child = subprocess.Popen([sys.executable, "-c", code, "run/api3.sock"])
    while child.poll() is None:
        time.sleep(0.1)
        recorder.sample()
    return recorder.result()


def test_a_busy_process_is_charged_to_its_component():
    # A second of busy CPU under a command line naming the API's socket.
    busy = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass"
    result = _recorded_while_running(busy)
    assert 0.8 <= result["cpu_s"]["api3"] <= 1.5
    assert result["server_cpu_s"] >= result["cpu_s"]["api3"]
    assert result["envelope"] is None


def test_the_largest_resident_set_of_a_component_is_kept():
    # A process that holds 64 MB for a while under the API's command line: its peak is kept.
    hold = "b = bytearray(64 * 2**20)\nb[::4096] = b'x' * len(b[::4096])\nimport time; time.sleep(0.6)"
    peak = _recorded_while_running(hold)["peak_rss_mb"]["api3"]
    assert 64 <= peak <= 64 + 60
