"""The route table: the contract's four routes, each declared once with the use case it serves."""

from __future__ import annotations

from pessoas.container import Container
from pessoas.entrypoints.http.contract_route import ContractRoute
from pessoas.entrypoints.http.count_pessoas import count_pessoas_route
from pessoas.entrypoints.http.create_pessoa import create_pessoa_route
from pessoas.entrypoints.http.get_pessoa import get_pessoa_route
from pessoas.entrypoints.http.search_pessoas import search_pessoas_route


def contract_routes(container: Container) -> tuple[ContractRoute, ...]:
    # Each route receives its use case once, here: the request path then touches no dependency
    # machinery (FastAPI would run dependency-injector's sync markers on a worker thread for
    # every request, which costs more than the work itself).
    return (
        create_pessoa_route(container.create_pessoa()),
        search_pessoas_route(container.search_pessoas()),
        get_pessoa_route(container.get_pessoa()),
        count_pessoas_route(container.count_pessoas()),
    )
