"""Revisions and deployments: one named function per change, like hubs/actions.py."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from hubs import audit
from hubs.models import Cluster, Hub, HubRevision
from hubs.spec import SpecError
from hubs.validation import Checked
from provisioning.models import Deployment, DeploymentLogEntry
from provisioning.render.renderer import RenderError, context_for, render
from provisioning.render.validate import ConfigError, UpstreamMissing, validate_rendered


def render_files(hub: Hub, checked: Checked, **extra: Any) -> dict[str, Any]:
    """What a revision deploys (HubRevision.files): Rendered.to_json() for the hub's cluster.

    GitOps clusters get the 2i2c layout, Helm clusters a z2jh values.yaml; the
    files are checked against the charts' schemas before they are stored.
    """
    layout = "2i2c" if hub.cluster.deploy_mode == Cluster.DeployMode.GITOPS else "z2jh"
    try:
        rendered = render(checked.spec, context_for(checked, **extra), layout)
        validate_rendered(rendered)
    except ConfigError as exc:
        # Not the requester's fault: the templates made something the chart
        # refuses. Nothing is stored; the request stays where it was.
        raise SpecError(
            {
                "": [
                    f"the generated configuration is invalid ({line}); tell the operators"
                    for line in exc.lines()
                ]
            }
        ) from exc
    except (RenderError, UpstreamMissing) as exc:
        raise SpecError(
            {"": [f"the configuration could not be generated: {exc}; tell the operators"]}
        ) from exc
    return rendered.to_json()


@transaction.atomic
def create_revision(
    hub: Hub, checked: Checked, *, author: Any, reason: str, **extra: Any
) -> HubRevision:
    """Snapshot the hub's spec and rendered files as its next revision.

    `extra` reaches the templates (e.g. `placeholder_replicas` when an event is pre-warmed).
    """
    number = hub.current_revision + 1
    revision = HubRevision.objects.create(
        hub=hub,
        number=number,
        spec=checked.spec.dump(),
        files=render_files(hub, checked, **extra),
        author=author if author is not None and author.is_authenticated else None,
        reason=reason,
    )
    Hub.objects.filter(pk=hub.pk).update(current_revision=number, updated_at=timezone.now())
    hub.current_revision = number
    audit.record(author, hub, "hub.revision", comment=f"r{number}: {reason}")
    return revision


def log(deployment: Deployment, message: str, *, step: str = "", level: str = "info") -> None:
    DeploymentLogEntry.objects.create(
        deployment=deployment, message=message, step=step, level=level
    )


@transaction.atomic
def queue_deployment(
    hub: Hub,
    revision: HubRevision,
    *,
    by: Any,
    action: str = Deployment.Action.APPLY,
    options: dict[str, Any] | None = None,
) -> Deployment:
    """Record a deployment of `revision`, then enqueue it once the record has committed."""
    deployment = Deployment.objects.create(
        hub=hub,
        revision=revision,
        backend=hub.cluster.deploy_mode,
        action=action,
        requested_by=by if by is not None and by.is_authenticated else None,
        options=options or {},
    )
    log(deployment, f"Queued {action} of r{revision.number}.", step="queued")
    audit.record(by, deployment, f"deployment.{action}", to_state=deployment.state)
    transaction.on_commit(partial(enqueue, deployment.pk), robust=True)
    return deployment


def enqueue(deployment_id: int) -> None:
    from provisioning.tasks import run_deployment

    result = run_deployment.delay(deployment_id)
    Deployment.objects.filter(pk=deployment_id).update(task_id=result.id or "")
