"""The RabbitMQ node list and the queue-type arguments, without a RabbitMQ."""

from __future__ import annotations

import pytest

from pessoas.adapters.rabbitmq_nodes import NodeRotation, NoNodeAnswered, as_url_list, split_urls
from pessoas.adapters.rabbitmq_topology import queue_declarations, type_arguments


def test_split_urls() -> None:
    assert split_urls("amqp://a/") == ["amqp://a/"]
    assert split_urls(" amqp://a/, amqp://b/ ,") == ["amqp://a/", "amqp://b/"]
    with pytest.raises(ValueError):
        split_urls(" , ")
    assert as_url_list("amqp://a/") == ["amqp://a/"]
    assert as_url_list(("amqp://a/", "amqp://b/")) == ["amqp://a/", "amqp://b/"]


async def test_no_node_answering_names_every_attempt() -> None:
    rotation = NodeRotation(["amqp://guest:guest@127.0.0.1:1/", "amqp://guest:guest@127.0.0.1:2/"])
    with pytest.raises(NoNodeAnswered, match=r"node 1/2.*node 2/2"):
        await rotation.connect(per_node_timeout=2.0)


def test_classic_queues_are_declared_as_before() -> None:
    # The single-box default must not change a byte of the existing queues' arguments, or a
    # running RabbitMQ would refuse the re-declaration.
    assert type_arguments("classic", dead_letters=True) == {}
    for declaration in queue_declarations("pessoas"):
        assert not any(key in declaration.arguments for key in ("x-queue-type", "x-overflow"))


def test_quorum_queues_dead_letter_at_least_once() -> None:
    by_name = {d.name: d.arguments for d in queue_declarations("pessoas", "quorum")}
    assert set(by_name) == {"pessoas", "pessoas.DQ", "pessoas.XQ"}
    assert all(arguments["x-queue-type"] == "quorum" for arguments in by_name.values())
    for name in ("pessoas", "pessoas.DQ"):  # the ones that dead-letter
        assert by_name[name]["x-dead-letter-strategy"] == "at-least-once"
        assert by_name[name]["x-overflow"] == "reject-publish"
    assert "x-dead-letter-strategy" not in by_name["pessoas.XQ"]
    with pytest.raises(ValueError):
        type_arguments("stream", dead_letters=False)  # type: ignore[arg-type]
