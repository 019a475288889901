"""Names checked against the login provider before anything is deployed (hubs/identities.py).

GitHub is a local server speaking its REST API (tests/fake_github.py); nothing
of ours is patched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from pytest_httpserver import HTTPServer

from hubs import identities
from hubs.models import HubRequest
from hubs.spec import SpecError, parse_spec
from hubs.states import RequestState
from provisioning import lifecycle
from tests.conftest import api_client, client_for, github_spec, live_hub
from tests.fake_github import FakeGitHub, configure
from tests.hubs.test_views import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def github(httpserver: HTTPServer, settings) -> FakeGitHub:
    fake = FakeGitHub(
        httpserver,
        users={"alice-gh", "carol", "dave"},
        orgs={"bcc-org": {"staff"}, "other-org": set()},
    )
    configure(settings, fake)
    return fake


def spec(**overrides):
    return parse_spec(github_spec(**overrides))


def test_it_refuses_github_names_github_does_not_know(github):
    wanted = spec(
        auth={"provider": "github", "github": {"organizations": ["bcc-org:staff", "no-org",
                                                               "bcc-org:ghosts"]}},
        admins=["alice-gh", "ghost"],
        allowed_users=["carol", "bcc-org"],
    )  # fmt: skip

    with pytest.raises(SpecError) as refused:
        identities.refuse_unknown(wanted)

    assert refused.value.errors == {
        "admins[1]": ["no GitHub user named ghost"],
        "allowed_users[1]": ["bcc-org is a GitHub organisation, not a user"],
        "auth.github.organizations[1]": ["no GitHub organisation named no-org"],
        "auth.github.organizations[2]": [
            "bcc-org:ghosts: no such team in that organisation (or it is secret)"
        ],
    }


def test_it_checks_only_what_a_change_adds_and_caches_the_answers(github):
    before = github_spec(allowed_users=["carol"])

    identities.refuse_unknown(spec(allowed_users=["carol", "dave"]), previous=before)
    identities.refuse_unknown(spec(allowed_users=["carol", "dave"]), previous=before)

    assert github.calls == ["/api/v3/users/dave"]  # once: the second answer is cached


def test_a_rate_limit_marks_names_not_verified_and_stops_asking(github, settings):
    settings.PORTAL_GITHUB_LOOKUP_CONCURRENCY = 1  # in order, to count the calls
    github.remaining = 2

    found = identities.lookup_users(spec(), ["carol", "dave", "erin", "frank", "gina"])

    assert len(github.calls) == 2  # the second answer said none remain: no more asked
    verified = {name for name, (ok, _) in found.answers.items() if ok}
    assert len(verified) == 2
    assert len(found.unverified()) == 3
    assert "rate limit is reached until" in found.note
    assert "UTC" in found.note


def test_a_403_that_is_a_rate_limit_stops_the_lookups_in_flight(github, settings):
    github.remaining = 0

    found = identities.lookup_users(spec(), [f"user-{i}" for i in range(40)])

    assert len(github.calls) < 40  # those already sent are answered 403; the rest never go
    assert len(found.unverified()) == 40
    assert "GitHub's rate limit is reached until" in found.note


def test_an_outage_never_blocks_a_change(github, settings):
    github.fail_with = 502

    found = identities.refuse_unknown(spec(admins=["alice-gh", "newcomer"]))

    assert "newcomer" in found.unverified()
    assert "GitHub answered 502" in found.note
    settings.PORTAL_GITHUB_API_URL = "http://127.0.0.1:9"  # nothing listens there
    cache.clear()
    found = identities.refuse_unknown(spec(admins=["someone"]))
    assert found.answers["someone"][0] is None
    assert "could not be reached" in found.answers["someone"][1]


def test_without_a_token_nothing_is_looked_up(httpserver, settings):
    fake = FakeGitHub(httpserver, users=set())
    settings.PORTAL_GITHUB_API_URL = fake.url
    settings.PORTAL_GITHUB_LOOKUP_TOKEN = ""

    found = identities.refuse_unknown(spec(admins=["anyone"]))

    assert fake.calls == []
    assert "no GitHub lookup token" in found.answers["anyone"][1]


def test_the_request_form_and_the_api_refuse_the_same_unknown_names(
    github, catalog, lead, reviewer
):
    bad = github_spec(admins=["alice-gh", "ghost"])

    api = api_client(lead).post("/api/v1/requests/", {**bad, "submit": True}, format="json")
    page = client_for(lead).post("/requests/new/", form_data(bad, submit="1"))

    assert api.status_code == 400
    assert api.json()["errors"] == {"admins[1]": ["no GitHub user named ghost"]}
    assert page.status_code == 200
    assert page.context["form"].errors["admins"] == ["Line 2: No GitHub user named ghost"]
    assert not HubRequest.objects.exclude(state=RequestState.DRAFT).exists()


def test_names_that_could_not_be_verified_are_told_to_the_reviewers(
    github, catalog, lead, reviewer
):
    github.fail_with = 503

    request = api_client(lead).post(
        "/api/v1/requests/", {**github_spec(), "submit": True}, format="json"
    )

    assert request.status_code == 201
    page = client_for(reviewer).get(f"/requests/{request.json()['id']}/").content.decode()
    assert "could not be verified: GitHub answered 503" in page


def test_a_hub_change_refuses_emails_outside_the_hubs_domains(catalog, lead, reviewer):
    google = {"provider": "google", "google": {"hosted_domains": ["uni.edu"]}}
    hub = live_hub(lead, reviewer, auth=google, admins=["prof@uni.edu"])

    with pytest.raises(SpecError) as refused:
        lifecycle.update_hub(
            hub,
            {**hub.spec, "allowed_users": ["ta@uni.edu", "student@gmail.com"]},
            by=lead,
        )

    assert refused.value.errors == {
        "allowed_users[1]": ["student@gmail.com is not in the hub's allowed domains (uni.edu)"]
    }
