"""The queue message: what the publisher encodes is what the worker's broker and actor read back."""

from __future__ import annotations

import dramatiq
import orjson
import pytest

from pessoas.adapters.pessoa_json import pessoa_to_json
from pessoas.adapters.rabbitmq_message import (
    STORE_ACTOR_NAME,
    OrjsonEncoder,
    QueueNames,
    batch_message,
    decode_batch,
    pessoas_of,
    use_orjson_encoder,
)
from tests.contracts.pessoas_factory import make_pessoa


@pytest.fixture(autouse=True)
def restore_dramatiq_encoder():
    before = dramatiq.get_encoder()
    yield
    dramatiq.set_encoder(before)


def test_queue_names_are_dramatiqs():
    names = QueueNames.of("pessoas")
    assert names == QueueNames(canonical="pessoas", delay="pessoas.DQ", dead_letter="pessoas.XQ")
    assert QueueNames.of("pessoas.DQ") == names  # any of the three names the same queue


def test_a_message_round_trips_with_every_kind_of_pessoa():
    pessoas = [make_pessoa(), make_pessoa(apelido="joão ção", stack=None), make_pessoa(stack=())]
    use_orjson_encoder()
    body = batch_message(pessoas, "pessoas").encode()
    assert decode_batch(body) == pessoas


def test_the_body_is_the_shape_of_a_dramatiq_message_for_the_store_actor():
    pessoa = make_pessoa()
    use_orjson_encoder()
    message = batch_message([pessoa], "pessoas.DQ")
    body = orjson.loads(message.encode())
    assert body == {
        "queue_name": "pessoas",
        "actor_name": STORE_ACTOR_NAME,
        "args": [[pessoa_to_json(pessoa)]],
        "kwargs": {},
        "options": {},
        "message_id": message.message_id,
        "message_timestamp": message.message_timestamp,
    }


def test_either_encoder_reads_what_the_other_wrote():
    pessoas = [make_pessoa(apelido="çãé"), make_pessoa()]
    dramatiq.set_encoder(dramatiq.JSONEncoder())
    by_default = batch_message(pessoas, "pessoas").encode()
    use_orjson_encoder()
    assert isinstance(dramatiq.get_encoder(), OrjsonEncoder)
    assert decode_batch(by_default) == pessoas
    by_orjson = batch_message(pessoas, "pessoas").encode()
    dramatiq.set_encoder(dramatiq.JSONEncoder())
    assert decode_batch(by_orjson) == pessoas


def test_the_actor_reads_its_argument_back_into_pessoas():
    pessoas = [make_pessoa(), make_pessoa(stack=None)]
    (argument,) = batch_message(pessoas, "pessoas").args
    assert pessoas_of(argument) == pessoas


def test_a_body_that_is_not_a_store_message_is_refused():
    use_orjson_encoder()
    with pytest.raises(dramatiq.DecodeError):
        decode_batch(b"not json")
    other = dramatiq.Message(queue_name="pessoas", actor_name="other", args=([],), kwargs={}, options={})
    with pytest.raises(ValueError, match="other"):
        decode_batch(other.encode())
