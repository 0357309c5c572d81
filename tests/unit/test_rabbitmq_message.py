"""The queue message: what the publisher encodes is what the worker's broker and actor read back."""

from __future__ import annotations

import uuid

import dramatiq
import orjson
import pytest

from pessoas.adapters.rabbitmq_message import (
    INDEX_ACTOR_NAME,
    OrjsonEncoder,
    QueueNames,
    decode_index_message,
    ids_of,
    index_message,
    use_orjson_encoder,
)


@pytest.fixture(autouse=True)
def restore_dramatiq_encoder():
    before = dramatiq.get_encoder()
    yield
    dramatiq.set_encoder(before)


def test_queue_names_are_dramatiqs():
    names = QueueNames.of("pessoas")
    assert names == QueueNames(canonical="pessoas", delay="pessoas.DQ", dead_letter="pessoas.XQ")
    assert QueueNames.of("pessoas.DQ") == names  # any of the three names the same queue


def test_the_actor_is_named_index_pessoas():
    assert INDEX_ACTOR_NAME == "index_pessoas"


def test_a_message_round_trips_its_ids_in_order():
    ids = [uuid.uuid4() for _ in range(5)]
    use_orjson_encoder()
    assert decode_index_message(index_message(ids, "pessoas").encode()) == ids


def test_a_message_of_no_ids_round_trips():
    use_orjson_encoder()
    assert decode_index_message(index_message([], "pessoas").encode()) == []


def test_the_body_is_the_shape_of_a_dramatiq_message_for_the_index_actor():
    pessoa_id = uuid.uuid4()
    use_orjson_encoder()
    message = index_message([pessoa_id], "pessoas.DQ")
    body = orjson.loads(message.encode())
    assert body == {
        "queue_name": "pessoas",
        "actor_name": INDEX_ACTOR_NAME,
        "args": [[str(pessoa_id)]],
        "kwargs": {},
        "options": {},
        "message_id": message.message_id,
        "message_timestamp": message.message_timestamp,
    }


def test_either_encoder_reads_what_the_other_wrote():
    ids = [uuid.uuid4(), uuid.uuid4()]
    dramatiq.set_encoder(dramatiq.JSONEncoder())
    by_default = index_message(ids, "pessoas").encode()
    use_orjson_encoder()
    assert isinstance(dramatiq.get_encoder(), OrjsonEncoder)
    assert decode_index_message(by_default) == ids
    by_orjson = index_message(ids, "pessoas").encode()
    dramatiq.set_encoder(dramatiq.JSONEncoder())
    assert decode_index_message(by_orjson) == ids


def test_installing_the_encoder_twice_keeps_the_first():
    use_orjson_encoder()
    installed = dramatiq.get_encoder()
    use_orjson_encoder()
    assert dramatiq.get_encoder() is installed


def test_the_actor_reads_its_argument_back_into_ids():
    ids = [uuid.uuid4(), uuid.uuid4()]
    (argument,) = index_message(ids, "pessoas").args
    assert ids_of(argument) == ids
    assert ids_of([str(ids[0]).upper()]) == [ids[0]]  # any spelling of a UUID


@pytest.mark.parametrize(
    "argument",
    [
        None,
        "0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e",  # one id, not a list of them
        {"ids": ["0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e"]},
        ("0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e",),
        [1, 2],
        [None],
        ["not a uuid"],
        ["0a2b64f4-7d45-4b8e-8a0b-4f6c2c7b5c1e", "zz"],
        [{"apelido": "ana"}],  # a pessoa, as the former store message carried
    ],
)
def test_an_argument_that_is_not_a_list_of_uuid_strings_is_a_value_error(argument):
    with pytest.raises(ValueError):
        ids_of(argument)


def test_a_body_that_is_not_an_index_message_is_refused():
    use_orjson_encoder()
    with pytest.raises(dramatiq.DecodeError):
        decode_index_message(b"not json")
    other = dramatiq.Message(queue_name="pessoas", actor_name="other", args=([],), kwargs={}, options={})
    with pytest.raises(ValueError, match="other"):
        decode_index_message(other.encode())
    not_ids = dramatiq.Message(
        queue_name="pessoas", actor_name=INDEX_ACTOR_NAME, args=(["nope"],), kwargs={}, options={}
    )
    with pytest.raises(ValueError):
        decode_index_message(not_ids.encode())
    not_a_list = dramatiq.Message(
        queue_name="pessoas", actor_name=INDEX_ACTOR_NAME, args=("nope",), kwargs={}, options={}
    )
    with pytest.raises(ValueError):
        decode_index_message(not_a_list.encode())


def test_the_previous_versions_pessoas_read_back():
    from pessoas.adapters.pessoa_json import pessoa_to_json
    from pessoas.adapters.rabbitmq_message import pessoas_of
    from tests.contracts.pessoas_factory import make_pessoa

    pessoas = [make_pessoa(apelido="um"), make_pessoa(apelido="dois", stack=None)]
    assert pessoas_of([pessoa_to_json(p) for p in pessoas]) == pessoas


@pytest.mark.parametrize(
    "argument",
    ["not a list", [1], [{"id": "not-a-uuid"}], [{"apelido": "sem id"}]],
    ids=["not a list", "not objects", "a bad id", "missing fields"],
)
def test_a_previous_version_message_that_is_not_pessoas_is_refused(argument):
    from pessoas.adapters.rabbitmq_message import pessoas_of

    with pytest.raises(ValueError):
        pessoas_of(argument)
