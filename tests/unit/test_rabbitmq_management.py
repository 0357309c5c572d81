"""Reading RabbitMQ's management API for the restore's proof, against answers made up in place."""

from __future__ import annotations

import base64

import httpx
import pytest

from pessoas.adapters.rabbitmq_management import ManagementApi, management_urls_for, vhost_of
from pessoas.adapters.rabbitmq_message import QueueNames
from pessoas.domain.errors import StorageUnavailable

NAMES = QueueNames.of("pessoas")


def broker(queues: dict[str, dict], rates_mode: str = "basic", status: int = 200, seen: list | None = None):
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if status != 200:
            return httpx.Response(status, json={"error": "not_authorised"})
        path = request.url.raw_path.decode()
        if path.endswith("/api/overview"):
            return httpx.Response(200, json={"rates_mode": rates_mode})
        name = path.rsplit("/", 1)[1]
        if name not in queues:
            return httpx.Response(404, json={"error": "Object Not Found"})
        return httpx.Response(200, json=queues[name])

    return httpx.MockTransport(answer)


def api(transport, urls=("http://guest:guest@rabbit:15672/",), vhost="/"):
    ticks = iter(range(100))
    return ManagementApi(list(urls), vhost, NAMES, clock=lambda: float(next(ticks)), transport=transport)


def counts(ready, unacked, publish=None):
    found = {"messages_ready": ready, "messages_unacknowledged": unacked}
    if publish is not None:
        found["message_stats"] = {"publish": publish}
    return found


async def test_a_round_sums_ready_and_unacknowledged_of_both_queues_and_reads_the_delay_counter():
    transport = broker({NAMES.canonical: counts(2, 3, publish=99), NAMES.delay: counts(1, 0, publish=5)})
    read = await api(transport).read_round()
    assert read.waiting == 6
    assert read.delay_entries == 5  # the delay queue's, not the queue's
    assert read.sent < read.answered


async def test_a_queue_not_sampled_yet_has_no_count_and_a_delay_queue_never_used_has_no_entries():
    transport = broker({NAMES.canonical: {}, NAMES.delay: counts(0, 0)})
    read = await api(transport).read_round()
    assert read.waiting is None
    assert read.delay_entries == 0


@pytest.mark.parametrize(
    ("transport", "why"),
    [
        (broker({}, status=401), "HTTP 401"),
        (broker({NAMES.canonical: counts(0, 0)}), "HTTP 404"),
        (broker({NAMES.canonical: counts(0, 0), NAMES.delay: counts(0, 0)}, rates_mode="none"), "rates_mode"),
    ],
    ids=["refused", "no delay queue", "no message stats"],
)
async def test_what_the_proof_cannot_use_is_storage_unavailable_without_the_password(transport, why):
    with pytest.raises(StorageUnavailable, match=why) as caught:
        await api(transport, urls=["http://monitor:s3cret@rabbit:15672/"]).read_round()
    assert "s3cret" not in str(caught.value)


async def test_the_next_node_answers_when_the_first_does_not():
    seen = []
    queues = {NAMES.canonical: counts(0, 0), NAMES.delay: counts(0, 0)}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.port == 15672:
            raise httpx.ConnectError("refused", request=request)
        return broker(queues, seen=seen).handle_request(request)

    read = await api(httpx.MockTransport(answer), urls=["http://r1:15672/", "http://r2:15673/"]).read_round()
    assert read.waiting == 0
    assert {request.url.host for request in seen} == {"r2"}


async def test_credentials_go_as_basic_auth_and_vhost_and_prefix_are_kept():
    seen = []
    transport = broker({NAMES.canonical: counts(0, 0), NAMES.delay: counts(0, 0)}, seen=seen)
    await api(transport, urls=["http://mon:p%40ss@rabbit:15672/admin"], vhost="a/b").read_round()
    paths = [request.url.raw_path.decode() for request in seen]
    assert paths[0] == "/admin/api/overview"
    assert f"/admin/api/queues/a%2Fb/{NAMES.delay}" in paths
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"mon:p@ss").decode()
    assert "@" not in str(seen[0].url)


def test_management_urls_follow_the_amqp_urls():
    assert management_urls_for(["amqp://guest:guest@127.0.0.1:5672/", "amqps://u:p@rabbit-2/vh"]) == [
        "http://guest:guest@127.0.0.1:15672/",
        "https://u:p@rabbit-2:15672/",
    ]
    assert management_urls_for(["amqp://[::1]:5672/"]) == ["http://[::1]:15672/"]


@pytest.mark.parametrize(
    ("url", "vhost"),
    [
        ("amqp://h:5672/", "/"),
        ("amqp://h:5672", "/"),
        ("amqp://h/pessoas", "pessoas"),
        ("amqp://h/%2Fx", "/x"),
    ],
)
def test_the_vhost_is_read_from_the_amqp_url(url, vhost):
    assert vhost_of(url) == vhost


def test_the_container_derives_the_management_api_and_the_statistics_age_from_the_settings():
    from pessoas.container.rabbitmq import management_urls, stats_max_age
    from pessoas.settings import Settings

    derived = Settings.model_construct(amqp_url="amqp://u:p@r1:5681/%2F, amqp://u:p@r2:5682/%2F")
    assert management_urls(derived) == ["http://u:p@r1:15672/", "http://u:p@r2:15672/"]
    named = Settings.model_construct(
        amqp_url="amqp://u:p@r1:5681/", rabbitmq_management_url="http://m:q@r1:15681/,http://m:q@r2:15682/"
    )
    assert management_urls(named) == ["http://m:q@r1:15681/", "http://m:q@r2:15682/"]
    # Sampled by the queue, then collected by the plugin: two intervals.
    assert stats_max_age(Settings.model_construct(rabbitmq_stats_interval=1.5)) == 3.0
