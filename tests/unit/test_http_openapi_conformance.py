"""The OpenAPI document against the app as served: schemathesis with every check it has.

The one answer the document cannot make schemathesis accept: a valid NewPessoa whose apelido is
already taken gets 422 (the contract's choice), where schemathesis' positive-data check expects a
2xx for schema-valid data. Exactly that answer is excused from exactly that check; every other
check still runs on it.
"""

import json
import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pessoas.container import build_container
from pessoas.entrypoints.http.app import create_app
from pessoas.settings import Settings

# Multiplies the number of examples: 1 in CI, larger for a thorough run.
SCALE = int(os.environ.get("PESSOAS_FUZZ_SCALE", "1"))

ALL_CHECKS = CHECKS.get_all()

settings_memory = Settings(storage="memory", database_url=None, redis_url=None, amqp_url=None)
app = create_app(build_container(settings_memory))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


def _taken_apelido(case, response) -> bool:
    if case.operation.definition.raw.get("operationId") != "createPessoa" or response.status_code != 422:
        return False
    apelido = case.body.get("apelido") if isinstance(case.body, dict) else None
    return json.loads(response.content) == {"detail": f"apelido {apelido!r} is already taken"}


@schema.parametrize()
@settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_passes_every_schemathesis_check(case):
    response = case.call()
    excused = [positive_data_acceptance] if _taken_apelido(case, response) else []
    case.validate_response(response, checks=ALL_CHECKS, excluded_checks=excused)


def test_every_check_is_run():
    assert positive_data_acceptance in ALL_CHECKS
    assert len(ALL_CHECKS) > 10
