"""The one way a state field changes: compare-and-set against the state table, audited.

Requests, hubs and deployments each have a `state`. Every move of one goes
through `move()`, which checks the table in hubs/states.py, updates the row
only if it is still in the state it was read in (so of two concurrent moves
exactly one wins), and writes the AuditEvent in the same transaction. A move
the table does not allow, or one that lost a race, raises IllegalTransition
(answered 409 by the API); nothing else ever writes a state field
(tests/test_architecture.py checks the code for it).
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from hubs import audit
from hubs.states import IllegalTransition, check

# The state table each model's `state` follows (hubs/states.py).
KINDS = {
    "hubs.hubrequest": "request",
    "hubs.hub": "hub",
    "provisioning.deployment": "deployment",
    "events.eventstep": "step",
}


def kind_of(obj: models.Model) -> str:
    return KINDS[obj._meta.label_lower]


def _words(state: str) -> str:
    return state.replace("_", " ")


@transaction.atomic
def move(
    obj: Any,
    target: str,
    *,
    by: Any = None,
    action: str = "",
    comment: str = "",
    where: Q | None = None,
    **fields: Any,
) -> str:
    """Move `obj` from the state it was read in to `target`; the state it left.

    `fields` are written in the same UPDATE (expressions such as F() are
    allowed and are not copied back onto `obj`); `where` narrows the update
    further (a claim that must also be due, say). The audit action is
    `<kind>.<target>` unless `action` names another.
    """
    kind = kind_of(obj)
    current = str(obj.state)
    check(kind, current, target)
    model = type(obj)
    if any(f.name == "updated_at" for f in model._meta.fields):
        fields.setdefault("updated_at", timezone.now())
    rows = model._default_manager.filter(pk=obj.pk, state=current)
    if where is not None:
        rows = rows.filter(where)
    if rows.update(state=target, **fields) != 1:
        now = (
            model._default_manager.filter(pk=obj.pk).values_list("state", flat=True).first()
            or current
        )
        raise IllegalTransition(
            kind,
            now,
            target,
            f"Someone else changed this {kind} meanwhile; it is now {_words(now)}."
            if now != current
            else f"This {kind} cannot be moved to {_words(target)} now.",
        )
    obj.state = target
    for key, value in fields.items():
        if not hasattr(value, "resolve_expression"):
            setattr(obj, key, value)
    audit.record(
        by,
        obj,
        action or f"{kind}.{target}",
        from_state=current,
        to_state=target,
        comment=comment,
    )
    return current
