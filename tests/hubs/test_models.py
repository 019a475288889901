from __future__ import annotations

import pytest
from django.db import connection

from hubs import actions
from hubs.audit import record
from hubs.models import AuditEvent, Hub, HubRevision, HubSecret
from portal.crypto import decrypt, encrypt
from tests.conftest import github_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(catalog, lead, reviewer) -> Hub:
    request = actions.create_request(lead, github_spec(), submit=True)
    return actions.approve_request(request, by=reviewer)


def test_it_stores_secrets_encrypted(hub):
    HubSecret.objects.create(hub=hub, key="oauth_client_secret", value="s3cret-value")
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM hubs_hubsecret")
        (stored,) = cursor.fetchone()
    assert "s3cret-value" not in stored
    assert decrypt(stored) == "s3cret-value"
    assert HubSecret.objects.get().value == "s3cret-value"


def test_it_round_trips_encryption():
    token = encrypt("hello")
    assert token != "hello" and decrypt(token) == "hello"


def test_it_never_edits_or_deletes_audit_events(lead):
    event = record(lead, lead, "user.poked")
    event.comment = "changed"
    with pytest.raises(ValueError, match="never edited"):
        event.save()
    with pytest.raises(ValueError, match="never deleted"):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).comment == ""


def test_it_never_edits_a_revision(hub):
    revision = HubRevision.objects.get(hub=hub)
    revision.reason = "rewritten"
    with pytest.raises(ValueError, match="immutable"):
        revision.save()


def test_it_frees_a_name_once_the_hub_is_decommissioned(hub):
    Hub.objects.filter(pk=hub.pk).update(state="decommissioned")
    Hub.objects.create(name=hub.name, cluster=hub.cluster, domain="x.example.org")
    assert Hub.objects.filter(name=hub.name).count() == 2


def test_it_says_where_a_hub_answers_in_one_place(hub):
    # The helm readiness check, the GitOps wait for /hub/health and monitoring all ask
    # Hub.address; monitoring once formatted the template without {namespace}.
    cluster = hub.cluster
    cluster.hub_url_template = "http://proxy.{namespace}.svc/{hub}/"
    cluster.namespace_template = "hub-{hub}"
    assert hub.address == f"http://proxy.hub-{hub.name}.svc/{hub.name}"
    cluster.hub_url_template = "https://{domain}"
    assert hub.address == f"https://{hub.domain}"
    cluster.hub_url_template = "https://{nothing}"
    assert hub.address == hub.url
