"""Shared fixtures: the personas of DESIGN.md and the default catalog."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import create_token
from hubs import actions, admins
from hubs.models import Cluster, Hub, HubRequest, Offering
from hubs.permissions import REVIEWERS_GROUP
from hubs.states import HubState

PASSWORD = "correct horse battery staple"


def make_user(username: str, **flags: Any) -> User:
    user = User.objects.create_user(
        username, email=f"{username}@example.org", password=PASSWORD, **flags
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def catalog(db: None) -> None:
    call_command("seed_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def lead(db: None) -> User:
    return make_user("alice")


@pytest.fixture
def other_lead(db: None) -> User:
    return make_user("bob")


@pytest.fixture
def reviewer(db: None) -> User:
    user = make_user("charlie", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    return user


@pytest.fixture
def second_reviewer(db: None) -> User:
    user = make_user("dana", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    return user


@pytest.fixture
def hub_admin(db: None) -> User:
    """Hana, who administers the hubs she is made admin of (make_hub_admin) and nothing else."""
    return make_user("hana")


def make_hub_admin(hub: Hub, user: User, *, by: User) -> None:
    """`user` administers `hub` as the portal makes it so: invited by email, accepted."""
    invitation, _ = admins.invite(hub, user.email, by=by)
    admins.accept(invitation, user)


@pytest.fixture
def operator(db: None) -> User:
    return make_user("olive", is_staff=True, is_superuser=True)


@pytest.fixture
def helm_cluster(catalog: None) -> Cluster:
    """A cluster in helm mode that the education tier runs on."""
    helm = Cluster.objects.create(
        slug="k3d-local", name="Local", provider="kubeconfig", base_domain="hubs.localhost",
        deploy_mode=Cluster.DeployMode.HELM,
    )  # fmt: skip
    Offering.objects.get(slug="education").clusters.add(helm)
    return helm


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_client(user: User | None) -> APIClient:
    """A client that authenticates the way scripts do: `Authorization: Token <key>`."""
    client = APIClient()
    if user is not None:
        _, key = create_token(user, "tests")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def submitted(lead: User, **overrides: Any) -> HubRequest:
    """`lead`'s request for github_spec(**overrides), submitted for review."""
    return actions.create_request(lead, github_spec(**overrides), submit=True)


def live_hub(lead: User, reviewer: User, *, active: bool = True, **overrides: Any) -> Hub:
    """`lead`'s hub, approved by `reviewer`; active unless asked to stay provisioning."""
    hub = actions.approve_request(submitted(lead, **overrides), by=reviewer)
    if active:
        Hub.objects.filter(pk=hub.pk).update(state=HubState.ACTIVE)
    hub.refresh_from_db()
    return hub


def github_spec(**overrides: Any) -> dict[str, Any]:
    """A complete, valid spec for the default catalog."""
    spec: dict[str, Any] = {
        "name": "bcc",
        "display_name": "Berkeley City College",
        "purpose": "education",
        "cluster": "gcp-us-central1",
        "offering": "education",
        "community": {"name": "Berkeley City College", "url": "https://bcc.example.edu"},
        "image": {"catalog": "scipy-notebook"},
        "auth": {"provider": "github", "github": {"organizations": ["bcc-org", "bcc-org:staff"]}},
        "admins": ["alice-gh"],
        "allowed_users": [],
        "expected_users": 40,
    }
    spec.update(overrides)
    return spec


def event_spec(**overrides: Any) -> dict[str, Any]:
    start = (timezone.now() + dt.timedelta(days=10)).replace(microsecond=0)
    spec = github_spec(
        name="hackweek",
        display_name="Hackweek 2027",
        purpose="event",
        offering="events",
        auth={"provider": "tmp"},
        admins=[],
        event={"start": start.isoformat(), "end": (start + dt.timedelta(days=3)).isoformat()},
    )
    spec.update(overrides)
    return spec
