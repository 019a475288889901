"""Schemathesis over every operation of /api/v1/, as each persona, in-process (WSGI).

Whatever the OpenAPI document lists is exercised, as anonymous, lead, other
lead, reviewer and operator: generated requests valid and invalid by the
document, with random path parameters and with ones naming real objects (a
submitted request, a live hub, its deployment: random ids and slugs almost
never name one, and this stands in for stateful links). Each response is
checked for no server error and for what the document allows: status code,
content type, body schema. Every failure of every operation is reported
together, with a curl line to reproduce it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tokens import create_token
from hubs import actions
from tests.conftest import github_spec, live_hub, submitted

PERSONAS = ("anonymous", "lead", "other_lead", "reviewer", "operator")
# Generated requests per operation and persona, shared among its rounds (valid and
# invalid, random and known path parameters). Anonymous requests are refused
# before any body is read, so that persona gets a quarter as many. At 40, each
# operation gets 170 and the module takes about 3 minutes on two busy cores
# (generating the hub spec's bodies, with their patterns, is most of the time);
# raise it where there is time.
EXAMPLES = int(os.environ.get("PORTAL_SCHEMATHESIS_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_process() -> Iterator[None]:
    """Requests through the WSGI app share the test's transaction, as Django's test client does.

    The handler would otherwise close the test's connection after each request.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(
    catalog: None, lead: Any, other_lead: Any, reviewer: Any, operator: Any
) -> dict[str, dict[str, Any]]:
    """Something to find: a submitted request and a live hub with a deployment.

    Path parameters naming them, per path prefix: random ids and slugs almost
    never name a real object, so each operation also runs against these.
    """
    actions.create_request(lead, github_spec(name="draft-one"))
    waiting = submitted(lead, name="waiting")
    hub = live_hub(lead, reviewer, name="live")
    return {
        "/api/v1/requests/": {"id": waiting.pk},
        "/api/v1/hubs/": {"cluster": hub.cluster.slug, "name": hub.name},
        "/api/v1/deployments/": {"id": hub.deployments.get().pk},
    }


def modes(operation: Any) -> list[GenerationMode]:
    """Valid requests, and invalid ones where something can be invalid.

    Only slugs in the path and nothing else (GET a hub, say): every string is a
    valid slug-shaped value to the document, so there is nothing negative to make.
    """
    path_only_strings = all(
        parameter.definition.get("schema", {}).get("type") == "string"
        for parameter in operation.path_parameters
    )
    if not operation.body and not operation.query and path_only_strings:
        return [GenerationMode.POSITIVE]
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_answers_every_operation_as_documented(
    persona: str,
    world: dict[str, dict[str, Any]],
    in_process: None,
    request: pytest.FixtureRequest,
) -> None:
    from portal.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    headers = {}
    if persona != "anonymous":
        _, key = create_token(request.getfixturevalue(persona), "schemathesis")
        headers = {"Authorization": f"Token {key}"}
    examples = EXAMPLES if persona != "anonymous" else max(1, EXAMPLES // 4)
    failures: list[str] = []
    operations, started = 0, time.monotonic()
    for result in schema.get_all_operations():
        operation: Any = result.ok()  # type: ignore[union-attr]
        operations += 1
        known = next((v for k, v in world.items() if operation.path.startswith(k)), {})
        names = {parameter.name for parameter in operation.path_parameters}
        rounds: list[tuple[GenerationMode, dict[str, Any]]] = [
            (mode, {}) for mode in modes(operation)
        ]
        if names and names <= set(known):
            rounds += [(mode, {n: known[n] for n in names}) for mode in GenerationMode]
        for mode, path in rounds:

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path or None))
            @hypothesis_settings(
                max_examples=max(1, examples // len(rounds)),
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            begun = time.monotonic()
            try:
                run()
            except Unsatisfiable:
                pass  # nothing about this operation can be made invalid (e.g. only slugs)
            except (Exception, BaseExceptionGroup) as exc:  # every failure, reported together
                failures.append(f"{operation.label} ({mode}, {path or 'random path'}): {exc}")
            if os.environ.get("PORTAL_SCHEMATHESIS_TIMES"):
                print(f"{operation.label} {mode}: {time.monotonic() - begun:.1f} s")
    elapsed = time.monotonic() - started
    print(f"schemathesis as {persona}: {operations} operations, {examples} each, {elapsed:.1f} s")
    assert operations >= 14
    assert not failures, "\n\n".join(failures)
