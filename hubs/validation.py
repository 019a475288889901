"""Checks of a hub spec against the catalog and the hubs that exist.

`hubs/spec.py` checks shape and syntax without a database; this module adds
what needs one (is the cluster active and allowed by the tier, is the name
free, is the image in the catalog). The form, the API and `render_hub` all
call `validate_spec()`, so they refuse the same things with the same words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from hubs.models import Cluster, Hub, HubRequest, Offering, UserImage
from hubs.spec import HubSpec, SpecError, parse_spec
from hubs.states import HUB_LIVE, RequestState


@dataclass(frozen=True)
class Checked:
    """A spec that passed every check, with the catalog rows it names."""

    spec: HubSpec
    cluster: Cluster
    offering: Offering
    image: UserImage | None

    @property
    def domain(self) -> str:
        return self.spec.domain or self.cluster.hub_domain(self.spec.name)

    @property
    def image_reference(self) -> str:
        if self.image is not None:
            return self.image.reference
        assert self.spec.image.custom is not None  # noqa: S101 - Image guarantees one of the two  # nosec B101
        return self.spec.image.custom


def validate_spec(
    data: Any,
    *,
    request: HubRequest | None = None,
    hub: Hub | None = None,
    now: dt.datetime | None = None,
) -> Checked:
    """Check `data` fully; raise SpecError naming every bad field.

    `request` / `hub` is the object the spec belongs to, so its own name does
    not count as taken.
    """
    spec = parse_spec(data)
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if hub is not None:
        # A hub's name and cluster are its identity in the repository and on the cluster.
        for key, value in (("name", hub.name), ("cluster", hub.cluster.slug)):
            if getattr(spec, key) != value:
                add(key, f"a hub's {key} cannot change (it is {value}); request a new hub instead")

    offering = Offering.objects.filter(slug=spec.offering, active=True).first()
    cluster = Cluster.objects.filter(slug=spec.cluster).first()
    if offering is None:
        add("offering", f"there is no tier {spec.offering!r} on offer")
    elif spec.purpose not in offering.purposes:
        add("purpose", f"the {offering.name} tier is for {', '.join(offering.purposes)}")
    if cluster is None:
        add("cluster", f"there is no cluster {spec.cluster!r}")
    elif not cluster.active and (hub is None or hub.cluster_id != cluster.pk):
        add("cluster", f"the cluster {cluster.slug} takes no new hubs")
    elif offering is not None and not offering.clusters.filter(pk=cluster.pk).exists():
        add("cluster", f"the {offering.name} tier does not run on {cluster.slug}")

    image = None
    if spec.image.catalog is not None:
        image = UserImage.objects.filter(slug=spec.image.catalog, active=True).first()
        if image is None:
            add("image.catalog", f"there is no image {spec.image.catalog!r} in the catalog")
    elif offering is not None and not offering.allow_custom_image:
        add("image.custom", f"the {offering.name} tier uses catalog images only")

    if offering is not None:
        if spec.expected_users > offering.max_users:
            add(
                "expected_users",
                f"the {offering.name} tier serves at most {offering.max_users} users",
            )
        if spec.event is not None and not offering.is_event:
            add("event", f"the {offering.name} tier is not for events")
    now = now or timezone.now()
    if spec.event is not None and spec.event.start <= now and (hub is None):
        add("event.start", "the start must be in the future")

    if cluster is not None:
        others = Hub.objects.filter(state__in=HUB_LIVE)
        # Requests for new hubs waiting for review hold their names (a request
        # to change a live hub holds nothing: the hub has the name already).
        pending = HubRequest.objects.filter(
            cluster=cluster, name=spec.name, state=RequestState.SUBMITTED, target_hub__isnull=True
        )
        if hub is not None:
            others = others.exclude(pk=hub.pk)
        if request is not None and request.pk is not None:
            others = others.exclude(request=request)
            pending = pending.exclude(pk=request.pk)
        domain = spec.domain or cluster.hub_domain(spec.name)
        if others.filter(cluster=cluster, name=spec.name).exists():
            add("name", f"there is already a hub named {spec.name} on {cluster.slug}")
        elif hub is None and pending.exists():
            add("name", f"another request for {spec.name} on {cluster.slug} is waiting for review")
        if others.filter(domain=domain).exists():
            add("domain", f"another hub already uses {domain}")

    if errors:
        raise SpecError(errors)
    assert cluster is not None and offering is not None  # noqa: S101 - errors otherwise  # nosec B101
    return Checked(spec=spec, cluster=cluster, offering=offering, image=image)
