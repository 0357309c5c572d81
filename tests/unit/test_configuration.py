"""A configuration that could lose pessoas is refused at start-up, in one line, with a non-zero exit."""

import os
import subprocess
import sys

import pytest

from pessoas.settings import Settings, SettingsRefused, load_settings, setting_names

PESSOAS = [sys.executable, "-m", "pessoas.entrypoints.cli"]


def _clean_environ(**settings: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PESSOAS_")}
    return {**environ, **settings}


def _run(*args: str, cwd=None, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PESSOAS, *args], env=_clean_environ(**settings), cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(autouse=True)
def _no_pessoas_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("PESSOAS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        (
            {"PESSOAS_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"},
            ["PESSOAS_AMQP_URL", "PESSOAS_DATABASE_URL"],
        ),
        ({"PESSOAS_REDIS_URL": "redis://127.0.0.1:1/0"}, ["PESSOAS_REDIS_URL", "PESSOAS_DATABASE_URL"]),
        ({"PESSOAS_DATABSE_URL": "postgresql://x"}, ["PESSOAS_DATABSE_URL", "PESSOAS_DATABASE_URL"]),
        ({"PESSOAS_PORT": "http"}, ["PESSOAS_PORT"]),
    ],
)
@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_configuration_that_could_lose_pessoas_is_refused_in_one_line(command, settings, names):
    result = _run(command, **settings)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("pessoas: configuration refused: ")
    for name in names:
        assert name in line


def test_a_negative_publish_window_is_refused_by_name(monkeypatch):
    # A window below zero means nothing (a creation cannot wait less than not at all): say so.
    monkeypatch.setenv("PESSOAS_PUBLISH_WINDOW_MS", "-1")
    with pytest.raises(SettingsRefused, match="PESSOAS_PUBLISH_WINDOW_MS"):
        load_settings({})
    monkeypatch.setenv("PESSOAS_PUBLISH_WINDOW_MS", "0")
    assert load_settings({}).publish_window_ms == 0


def test_queue_and_cache_are_accepted_beside_a_database():
    settings = Settings(database_url="postgresql://x", redis_url="redis://y", amqp_url="amqp://z")
    assert settings.amqp_url == "amqp://z"
    assert Settings(database_url="postgresql://x").amqp_url is None


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PESSOAS_PORT=8123\nPESSOAS_QUEUE_NAME=from-file\nOTHER_PROGRAM=1\n")
    assert load_settings({}).port == 8123
    monkeypatch.setenv("PESSOAS_QUEUE_NAME", "from-environment")
    assert load_settings().queue_name == "from-environment"


def test_a_dotenv_line_naming_no_setting_is_refused(tmp_path):
    (tmp_path / ".env").write_text("PESSOAS_PROT=8123\n")
    with pytest.raises(SettingsRefused, match=r"PESSOAS_PROT in \.env is not a setting.*PESSOAS_PORT"):
        load_settings({})


def test_an_unrelated_pessoas_variable_is_left_alone():
    # Scripts keep knobs of their own under the prefix (deploy/local/stack.sh's PESSOAS_UPSTREAM).
    assert load_settings({"PESSOAS_UPSTREAM": "uds"}).port == 9999


def test_version_is_printed():
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip().startswith("pessoas ")


@pytest.mark.parametrize("command", ["serve", "worker", "migrate"])
def test_help_names_every_setting(command):
    result = _run(command, "--help")
    assert result.returncode == 0
    for name in setting_names():
        assert name in result.stdout, name


def test_a_bare_server_listens_on_loopback_by_default():
    assert Settings().host == "127.0.0.1"
