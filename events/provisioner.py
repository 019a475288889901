"""The events app's side of the domain's seams (hubs/seams.py), installed by events/apps.py.

Approval of an event hub creates it without deploying and plans its schedule
(events/actions.py); every other hub goes to provisioning.lifecycle as before.
On submission an event is checked against its tier and its cluster's capacity,
and approved at once when its tier's auto-approval rule allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events import actions
from hubs.models import Hub, HubRequest
from hubs.validation import Checked
from provisioning import lifecycle


def create_hub(
    request: HubRequest, checked: Checked, *, by: Any, inputs: Mapping[str, Any] | None = None
) -> Hub:
    if checked.spec.event is not None and request.target_hub_id is None:
        return actions.approve_event(request, checked, by=by, inputs=inputs)
    return lifecycle.create_hub(request, checked, by=by, inputs=inputs)


def apply_change(hub: Hub, checked: Checked, *, by: Any, reason: str, author: Any = None) -> Any:
    return lifecycle.apply_change(hub, checked, by=by, reason=reason, author=author)


def on_submit(request: HubRequest, checked: Checked) -> str:
    if checked.spec.event is None or request.target_hub_id is not None:
        return ""
    return actions.submitted(request, checked)
