"""Direct Helm installs, end to end: a recording `helm` and a local Kubernetes API server.

The hub is requested and approved through hubs.actions, so its revision holds
the z2jh values the renderer really makes; the deployment runs through the
Celery task (eager in tests). Kubernetes is a real HTTP server speaking the
API (tests/provisioning/fake_kube.py) and helm a real executable
(tests/provisioning/fake_helm.py); the portal's own code is not patched.
"""

# Fixtures come from fake_kube / fake_helm; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import base64
import io
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from hubs.actions import approve_request, create_request
from hubs.models import AuditEvent, Cluster, Hub, HubRevision, HubSecret, Offering
from hubs.spec import SpecError
from hubs.states import DeploymentState, HubState
from hubs.validation import validate_spec
from provisioning.lifecycle import decommission_hub, queue_deployment, rollback_hub
from provisioning.models import Deployment
from provisioning.render.renderer import Rendered
from provisioning.revisions import create_revision
from provisioning.tasks import run_deployment
from tests.conftest import github_spec
from tests.provisioning.fake_helm import FakeHelm, fake_helm  # noqa: F401 - fixture
from tests.provisioning.fake_kube import FakeKube, fake_kube  # noqa: F401 - fixture

SLUG = "kind-local"
CLIENT_ID = "Iv1.0123456789abcdef"
CLIENT_SECRET = "s3cr3t-0f-the-0auth-app-5e1f"
QUOTA = {"requests.cpu": "20", "requests.memory": "64Gi", "persistentvolumeclaims": "200"}


@pytest.fixture
def cluster(catalog: None, fake_kube: FakeKube, fake_helm: FakeHelm, settings: Any) -> Cluster:
    """A helm-mode cluster whose API server and helm are the local fakes."""
    settings.PORTAL_HELM_POLL_EVERY = 0.02
    settings.PORTAL_RETRY_BASE_DELAY = 1
    cluster = Cluster.objects.create(
        slug=SLUG,
        name="kind on this machine",
        provider=Cluster.Provider.KUBECONFIG,
        base_domain="hubs.test",
        deploy_mode=Cluster.DeployMode.HELM,
        kubeconfig=fake_kube.kubeconfig(),
        helm_binary=str(fake_helm.path),
        helm_timeout=120,
        readiness_timeout=3,
        hub_url_template=f"{fake_kube.url}/hubs/{{hub}}",
    )
    education = Offering.objects.get(slug="education")
    education.clusters.add(cluster)
    education.resource_quota = QUOTA
    education.save()
    return cluster


def approve(lead: User, reviewer: User, **spec: Any) -> tuple[Hub, Deployment]:
    request = create_request(lead, github_spec(cluster=SLUG, **spec), submit=True)
    hub = approve_request(request, by=reviewer)
    return hub, Deployment.objects.get(hub=hub)


@pytest.fixture
def hub(cluster: Cluster, lead: User, reviewer: User) -> tuple[Hub, Deployment]:
    """An approved GitHub hub with its OAuth client attached, and its queued deployment."""
    hub, deployment = approve(lead, reviewer)
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.OAUTH_CLIENT_ID, value=CLIENT_ID)
    HubSecret.objects.create(hub=hub, key=HubSecret.Key.OAUTH_CLIENT_SECRET, value=CLIENT_SECRET)
    return hub, deployment


def run(deployment: Deployment) -> str:
    result = str(run_deployment.delay(deployment.pk).get())
    deployment.refresh_from_db()
    return result


def log_of(deployment: Deployment, **filters: Any) -> list[str]:
    return list(deployment.log.filter(**filters).values_list("message", flat=True))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- apply -------------------------------------------------------------------


def test_it_installs_a_hub_with_helm_and_waits_until_it_answers(
    hub: tuple[Hub, Deployment], fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    the_hub, deployment = hub

    assert run(deployment) == "succeeded"

    assert deployment.state == DeploymentState.SUCCEEDED
    the_hub.refresh_from_db()
    assert the_hub.state == HubState.ACTIVE
    namespace = fake_kube.get("namespaces", "bcc")
    assert namespace is not None
    assert namespace["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "hub-portal",
        "hub-portal/hub": "bcc",
        "hub-portal/cluster": SLUG,
    }
    secret = fake_kube.get("secrets", "hub-portal-secrets", "bcc")
    assert secret is not None
    assert secret["type"] == "Opaque"
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    # The portal's service token (monitoring reads usage with it), made for the hub once.
    usage_token = the_hub.secrets.get(key="usage_token").value
    assert len(usage_token) == 64
    assert decoded == {
        "oauth-client-id": CLIENT_ID,
        "oauth-client-secret": CLIENT_SECRET,
        "usage-token": usage_token,
    }
    quota = fake_kube.get("resourcequotas", "hub-portal-quota", "bcc")
    assert quota is not None and quota["spec"]["hard"] == QUOTA
    assert fake_kube.invalid == []

    [call] = fake_helm.calls()
    values_file = call["argv"][call["argv"].index("--values") + 1]
    assert call["argv"] == [
        "upgrade",
        "--install",
        "bcc",
        "jupyterhub",
        "--repo",
        "https://hub.jupyter.org/helm-chart/",
        "--version",
        "4.4.0",
        "--namespace",
        "bcc",
        "--values",
        values_file,
        "--atomic",
        "--wait",
        "--timeout",
        "120s",
    ]
    # Private files, gone once helm has run.
    assert call["values_mode"] == call["kubeconfig_mode"] == "0o600"
    assert call["kubeconfig_text"] == fake_kube.kubeconfig()
    assert not Path(call["kubeconfig"]).exists()
    assert not Path(values_file).exists()
    # The values are the revision's, and refer to the Secret instead of holding it.
    revision_values = Rendered.from_json(deployment.revision.files).files["values.yaml"]
    assert call["values"] == revision_values
    assert CLIENT_SECRET not in call["values"] and CLIENT_ID not in call["values"]
    extra_env = yaml.safe_load(call["values"])["hub"]["extraEnv"]
    assert extra_env["OAUTH_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub-portal-secrets",
        "key": "oauth-client-secret",
    }
    # The service token too: registered as a service with read-only scopes, read from the Secret.
    assert usage_token not in call["values"]
    hub_values = yaml.safe_load(call["values"])["hub"]
    assert extra_env["HUB_PORTAL_SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub-portal-secrets",
        "key": "usage-token",
    }
    assert hub_values["services"]["hub-portal"]["name"] == "hub-portal"
    assert hub_values["loadRoles"]["hub-portal-usage"] == {
        "description": "Hub Portal reads users and servers for usage reports",
        "scopes": ["list:users", "read:users", "read:servers"],
        "services": ["hub-portal"],
    }
    assert "hub-portal-service-token" in hub_values["extraConfig"]
    # The portal's own secrets are not in helm's environment.
    assert not [name for name in call["env"] if name.startswith("PORTAL_")]

    output = log_of(deployment, step="helm", level="output")
    assert 'Release "bcc" does not exist. Installing it now.' in output
    assert "STATUS: deployed" in output
    messages = "\n".join(log_of(deployment))
    assert CLIENT_SECRET not in messages and CLIENT_ID not in messages
    assert usage_token not in messages
    assert "answered 200: the hub is up" in messages
    # Readiness was polled until the Deployment became available.
    assert fake_kube.deployment_gets[("bcc", "hub")] >= 2


def test_it_hands_helm_values_the_z2jh_chart_accepts(
    hub: tuple[Hub, Deployment], fake_helm: FakeHelm, settings: Any
) -> None:
    from provisioning.render.validate import UpstreamMissing, validate_rendered

    _, deployment = hub
    run(deployment)
    [call] = fake_helm.calls()
    try:
        # The values merged over z2jh's values.yaml, against its values.schema.yaml.
        validate_rendered(Rendered(layout="z2jh", files={"values.yaml": call["values"]}))
    except UpstreamMissing:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{settings.PORTAL_UPSTREAM_DIR} is missing")


def test_it_applies_again_without_creating_anything_twice(
    hub: tuple[Hub, Deployment], fake_kube: FakeKube, fake_helm: FakeHelm, lead: User
) -> None:
    the_hub, first = hub
    run(first)
    secret = HubSecret.objects.get(hub=the_hub, key=HubSecret.Key.OAUTH_CLIENT_SECRET)
    secret.value = "a-rotated-client-secret"
    secret.save()

    again = queue_deployment(the_hub, first.revision, by=lead)
    assert run(again) == "succeeded"

    assert len(fake_helm.calls()) == 2
    assert "Namespace bcc is there." in log_of(again)
    stored = fake_kube.get("secrets", "hub-portal-secrets", "bcc")
    assert stored is not None
    assert base64.b64decode(stored["data"]["oauth-client-secret"]) == b"a-rotated-client-secret"
    assert len(fake_kube.bodies("PUT", "/secrets/hub-portal-secrets")) == 1
    assert len(fake_kube.bodies("PUT", "/resourcequotas/hub-portal-quota")) == 1
    assert fake_kube.invalid == []


def test_it_passes_the_kube_context(
    hub: tuple[Hub, Deployment], cluster: Cluster, fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    cluster.kubeconfig = fake_kube.kubeconfig(context="kind-portal")
    cluster.kube_context = "kind-portal"
    cluster.save()
    _, deployment = hub

    assert run(deployment) == "succeeded"

    assert fake_helm.calls()[0]["argv"][-2:] == ["--kube-context", "kind-portal"]


# --- what goes wrong, in words a person can act on -------------------------------------

HELM_FAILURES = [
    pytest.param(
        'Error: chart "jupyterhub" version "4.4.0" not found in '
        "https://hub.jupyter.org/helm-chart/ repository",
        "failed",
        "The chart jupyterhub 4.4.0 is not in https://hub.jupyter.org/helm-chart/",
        id="chart-version-missing",
    ),
    pytest.param(
        "Error: UPGRADE FAILED: release bcc failed, and has been rolled back due to atomic "
        'being set: Deployment.apps "hub" is invalid: spec.template.spec.containers[0].image: '
        "Required value",
        "failed",
        "rolled it back (--atomic)",
        id="atomic-rollback",
    ),
    pytest.param(
        "Error: INSTALLATION FAILED: roles.rbac.authorization.k8s.io is forbidden: User "
        '"portal" cannot create resource "roles" in API group "rbac.authorization.k8s.io" in '
        'the namespace "bcc"',
        "failed",
        "forbidden by RBAC: create roles",
        id="forbidden",
    ),
    pytest.param(
        'Error: Kubernetes cluster unreachable: Get "https://10.0.0.1:6443/version": dial tcp '
        "10.0.0.1:6443: connect: connection refused",
        "retry_scheduled",
        "helm cannot reach the cluster",
        id="unreachable",
    ),
    pytest.param(
        "Error: INSTALLATION FAILED: release bcc failed, and has been uninstalled due to "
        "atomic being set: timed out waiting for the condition",
        "retry_scheduled",
        "were not ready within 120 s, so helm gave up and rolled the release back",
        id="timeout",
    ),
    pytest.param(
        "Error: UPGRADE FAILED: context deadline exceeded",
        "retry_scheduled",
        "were not ready within 120 s",
        id="deadline",
    ),
    pytest.param(
        'Error: error loading config file "/tmp/x/kubeconfig": yaml: line 2: mapping values '
        "are not allowed in this context",
        "failed",
        "helm cannot use the cluster's kubeconfig",
        id="kubeconfig",
    ),
]


@pytest.mark.parametrize(("stderr", "result", "message"), HELM_FAILURES)
def test_it_explains_what_helm_said_when_it_fails(
    hub: tuple[Hub, Deployment], fake_helm: FakeHelm, stderr: str, result: str, message: str
) -> None:
    fake_helm.behave(
        "upgrade",
        stdout=['Release "bcc" does not exist. Installing it now.'],
        stderr=["W0101 warning: something earlier", stderr],
        code=1,
    )
    the_hub, deployment = hub

    assert run(deployment) == result

    assert message in deployment.error
    the_hub.refresh_from_db()
    if result == "failed":
        assert deployment.state == DeploymentState.FAILED
        assert the_hub.state == HubState.FAILED
        # helm's stderr tail is shown under the message.
        assert stderr in log_of(deployment, step="failed", level="output")[0]
    else:
        assert deployment.state == DeploymentState.QUEUED
        assert deployment.not_before is not None
        assert the_hub.state == HubState.PROVISIONING
        assert stderr in log_of(deployment, step="retry", level="output")[0]
    # The lines were streamed to the log as helm printed them.
    assert stderr in log_of(deployment, step="helm", level="output")
    # The private files are gone on failure too.
    [call] = fake_helm.calls()
    assert not Path(call["kubeconfig"]).exists()


def test_it_says_when_helm_is_not_installed(
    hub: tuple[Hub, Deployment], cluster: Cluster, fake_kube: FakeKube, tmp_path: Path
) -> None:
    cluster.helm_binary = str(tmp_path / "nowhere" / "helm")
    cluster.save()
    _, deployment = hub

    assert run(deployment) == "failed"

    assert deployment.error.startswith(f"helm is not installed at {tmp_path}/nowhere/helm")
    assert fake_kube.get("namespaces", "bcc") is None  # stopped before touching the cluster


@pytest.mark.parametrize(
    ("kubeconfig", "context", "message"),
    [
        ("clusters: [unclosed", "", "The cluster's kubeconfig is not valid YAML"),
        ("- just\n- a list\n", "", "is not a kubeconfig file"),
        (None, "no-such-context", "The cluster's kubeconfig cannot be used (context"),
        ("", "", "The cluster has no kubeconfig"),
    ],
)
def test_it_fails_on_an_unreadable_kubeconfig(
    hub: tuple[Hub, Deployment],
    cluster: Cluster,
    fake_kube: FakeKube,
    fake_helm: FakeHelm,
    kubeconfig: str | None,
    context: str,
    message: str,
) -> None:
    cluster.kubeconfig = fake_kube.kubeconfig() if kubeconfig is None else kubeconfig
    cluster.kube_context = context
    cluster.save()
    _, deployment = hub

    assert run(deployment) == "failed"

    assert message in deployment.error
    assert fake_helm.calls() == []


def test_it_retries_when_the_api_server_cannot_be_reached(
    hub: tuple[Hub, Deployment], cluster: Cluster, fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    cluster.kubeconfig = fake_kube.kubeconfig(url=f"http://127.0.0.1:{free_port()}")
    cluster.save()
    _, deployment = hub

    assert run(deployment) == "retry_scheduled"

    assert deployment.error.startswith("Cannot reach the Kubernetes API at http://127.0.0.1:")
    assert fake_helm.calls() == []


def test_it_retries_when_the_api_server_answers_5xx(
    hub: tuple[Hub, Deployment], fake_kube: FakeKube
) -> None:
    fake_kube.fail_with = 503
    _, deployment = hub

    assert run(deployment) == "retry_scheduled"

    assert "answered 503 to create namespace bcc: etcd is unhappy" in deployment.error


def test_it_fails_when_rbac_forbids_a_step(
    hub: tuple[Hub, Deployment], fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    fake_kube.forbidden = {("create", "secrets")}
    _, deployment = hub

    assert run(deployment) == "failed"

    assert deployment.error.startswith("forbidden by RBAC: create secrets in namespace bcc.")
    assert fake_helm.calls() == []


def test_it_fails_when_the_credentials_are_refused(
    hub: tuple[Hub, Deployment], cluster: Cluster, fake_kube: FakeKube
) -> None:
    cluster.kubeconfig = fake_kube.kubeconfig(token="expired")
    cluster.save()
    _, deployment = hub

    assert run(deployment) == "failed"

    assert "did not accept the kubeconfig's credentials (401 Unauthorized)" in deployment.error


def test_it_needs_the_oauth_client_before_installing(
    cluster: Cluster, lead: User, reviewer: User, fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    _, deployment = approve(lead, reviewer)

    assert run(deployment) == "failed"

    assert deployment.error.startswith(
        "The hub's settings read secrets it does not have yet: OAuth client id, "
        "OAuth client secret."
    )
    assert fake_kube.requests == [] and fake_helm.calls() == []


def test_it_refuses_values_that_contain_a_secret(
    cluster: Cluster, lead: User, reviewer: User, fake_helm: FakeHelm
) -> None:
    # Contrived, but it is how a secret pasted into a settings field would look.
    the_hub, deployment = approve(lead, reviewer, allowed_users=["pasted-client-secret"])
    HubSecret.objects.create(hub=the_hub, key=HubSecret.Key.OAUTH_CLIENT_ID, value=CLIENT_ID)
    HubSecret.objects.create(
        hub=the_hub, key=HubSecret.Key.OAUTH_CLIENT_SECRET, value="pasted-client-secret"
    )

    assert run(deployment) == "failed"

    assert "The values file contains the hub's OAuth client secret" in deployment.error
    assert fake_helm.calls() == []


def test_it_never_takes_over_a_namespace_it_did_not_make(
    hub: tuple[Hub, Deployment], fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    fake_kube.objects[("namespaces", "", "bcc")] = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "bcc", "labels": {"team": "someone-else"}},
        "status": {"phase": "Active"},
    }
    _, deployment = hub

    assert run(deployment) == "failed"

    assert "Namespace bcc already exists and was not created by the portal" in deployment.error
    assert fake_helm.calls() == []


def test_it_retries_when_the_hub_does_not_become_healthy(
    hub: tuple[Hub, Deployment], cluster: Cluster, fake_kube: FakeKube
) -> None:
    cluster.readiness_timeout = 1
    cluster.save()
    fake_kube.health_status = 502
    _, deployment = hub

    assert run(deployment) == "retry_scheduled"

    assert deployment.error.startswith("The hub was not ready within 1 s (")
    assert "/hubs/bcc/hub/health answered 502" in deployment.error


# --- decommission ----------------------------------------------------------------------


def test_it_needs_confirmation_of_the_data_loss(
    hub: tuple[Hub, Deployment], operator: User, fake_helm: FakeHelm
) -> None:
    the_hub, deployment = hub
    run(deployment)

    with pytest.raises(SpecError) as raised:
        decommission_hub(the_hub, by=operator, confirm_data_loss=False)
    assert "home directories" in raised.value.errors["confirm_data_loss"][0]
    # The backend refuses too, whoever queued the removal.
    unconfirmed = queue_deployment(
        the_hub, deployment.revision, by=operator, action=Deployment.Action.DECOMMISSION
    )
    assert run(unconfirmed) == "failed"
    assert "every user's home directory" in unconfirmed.error
    assert [c["argv"][0] for c in fake_helm.calls()] == ["upgrade"]


def test_it_uninstalls_the_release_and_deletes_the_namespace(
    hub: tuple[Hub, Deployment], operator: User, fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    the_hub, deployment = hub
    run(deployment)

    removal = decommission_hub(the_hub, by=operator, confirm_data_loss=True)
    the_hub.refresh_from_db()
    assert the_hub.state == HubState.DECOMMISSIONING
    assert removal.options == {"confirm_data_loss": True}
    assert run(removal) == "succeeded"

    the_hub.refresh_from_db()
    assert the_hub.state == HubState.DECOMMISSIONED
    uninstall = fake_helm.calls()[-1]
    assert uninstall["argv"] == ["uninstall", "bcc", "--namespace", "bcc", "--timeout", "120s"]
    assert not Path(uninstall["kubeconfig"]).exists()
    assert fake_kube.get("namespaces", "bcc") is None
    assert fake_kube.get("secrets", "hub-portal-secrets", "bcc") is None
    assert AuditEvent.objects.filter(action="hub.decommissioning", actor=operator).exists()


def test_it_decommissions_a_hub_that_was_never_installed(
    hub: tuple[Hub, Deployment], operator: User, fake_kube: FakeKube, fake_helm: FakeHelm
) -> None:
    the_hub, never_run = hub

    removal = decommission_hub(the_hub, by=operator, confirm_data_loss=True)
    assert run(removal) == "succeeded"

    never_run.refresh_from_db()
    assert never_run.state == DeploymentState.SUPERSEDED
    assert run(never_run) == "skipped"
    the_hub.refresh_from_db()
    assert the_hub.state == HubState.DECOMMISSIONED
    assert [c["argv"][0] for c in fake_helm.calls()] == ["uninstall"]
    messages = log_of(removal)
    assert "Release bcc is not installed (already removed)." in messages
    assert "Namespace bcc is already gone." in messages


def test_it_leaves_a_namespace_it_did_not_make(
    hub: tuple[Hub, Deployment], operator: User, fake_kube: FakeKube
) -> None:
    the_hub, _ = hub
    fake_kube.objects[("namespaces", "", "bcc")] = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "bcc"},
        "status": {"phase": "Active"},
    }

    removal = decommission_hub(the_hub, by=operator, confirm_data_loss=True)
    assert run(removal) == "succeeded"

    assert fake_kube.get("namespaces", "bcc") is not None
    assert not fake_kube.bodies("DELETE", "/api/v1/namespaces/bcc")


# --- rollback ----------------------------------------------------------------------------


def test_it_rolls_back_to_an_earlier_revision_as_a_new_one(
    hub: tuple[Hub, Deployment], lead: User, operator: User, fake_helm: FakeHelm
) -> None:
    the_hub, first = hub
    run(first)
    changed = validate_spec(github_spec(cluster=SLUG, allowed_users=["newcomer"]), hub=the_hub)
    second = create_revision(the_hub, changed, author=lead, reason="allowlist: +1")
    assert run(queue_deployment(the_hub, second, by=lead)) == "succeeded"
    assert second.files != first.revision.files

    deployment = rollback_hub(the_hub, 1, by=operator)

    third = deployment.revision
    assert (third.number, third.reason, third.author) == (3, "rollback to r1", operator)
    assert third.files == first.revision.files and third.spec == first.revision.spec
    the_hub.refresh_from_db()
    assert (the_hub.current_revision, the_hub.state) == (3, HubState.UPDATING)
    assert run(deployment) == "succeeded"
    the_hub.refresh_from_db()
    assert the_hub.state == HubState.ACTIVE
    assert fake_helm.calls()[-1]["values"] == fake_helm.calls()[0]["values"]
    assert AuditEvent.objects.filter(action="hub.rollback", comment="rollback to r1").exists()


def test_it_only_rolls_back_to_an_earlier_revision(
    hub: tuple[Hub, Deployment], operator: User
) -> None:
    the_hub, first = hub
    run(first)

    for number in (1, 7):
        with pytest.raises(SpecError):
            rollback_hub(the_hub, number, by=operator)
    assert HubRevision.objects.filter(hub=the_hub).count() == 1


# --- test_cluster ------------------------------------------------------------------------


def test_it_reports_what_the_credentials_may_do(cluster: Cluster, fake_kube: FakeKube) -> None:
    out = io.StringIO()

    call_command("test_cluster", SLUG, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == f"Kubernetes v1.31.4 at {fake_kube.url}"
    assert "yes may create namespaces" in lines
    assert "yes may create secrets in namespace example-hub" in lines
    assert "yes may list secrets in namespace example-hub" in lines
    assert any(line.startswith("Helm releases: can be installed") for line in lines)
    assert lines[-1] == f"{SLUG}: ready for helm installs."
    assert fake_kube.invalid == []


def test_it_fails_the_cluster_test_when_a_permission_is_missing(
    cluster: Cluster, fake_kube: FakeKube
) -> None:
    fake_kube.forbidden = {("create", "secrets")}
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("test_cluster", SLUG, stdout=out)

    assert str(raised.value).startswith("forbidden by RBAC: create secrets.")
    assert "NO  may create secrets in namespace example-hub" in out.getvalue()


def test_it_fails_the_cluster_test_when_the_cluster_is_unreachable(
    cluster: Cluster, fake_kube: FakeKube
) -> None:
    cluster.kubeconfig = fake_kube.kubeconfig(url=f"http://127.0.0.1:{free_port()}")
    cluster.save()

    with pytest.raises(CommandError, match="Cannot reach the Kubernetes API"):
        call_command("test_cluster", SLUG, stdout=io.StringIO())


def test_operators_test_the_connection_from_the_admin(cluster: Cluster, operator: User) -> None:
    from tests.conftest import client_for

    client = client_for(operator)
    response = client.post(
        "/admin/hubs/cluster/",
        {"action": "test_connection", "_selected_action": [cluster.pk]},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert text.startswith(f"{SLUG}: Kubernetes ")
    assert "Helm releases: can be installed" in text
    # The stored kubeconfig is never shown back, and saving without it keeps it.
    form = client.get(f"/admin/hubs/cluster/{cluster.pk}/change/").content.decode()
    assert "token:" not in form and "current-context" not in form
    assert "Set; leave blank to keep it." in form


def test_it_refuses_a_revision_rendered_for_the_2i2c_layout(
    hub: tuple[Hub, Deployment], fake_helm: FakeHelm
) -> None:
    from hubs.models import HubRevision

    _, deployment = hub
    gitops_files = {"layout": "2i2c", "files": {}, "cluster_entry": {"name": "bcc"}}
    HubRevision.objects.filter(pk=deployment.revision_id).update(files=gitops_files)

    assert run(deployment) == "failed"
    assert deployment.error == (
        "Revision r1 was rendered for the '2i2c' layout; a Helm cluster needs the 'z2jh' layout."
    )
    assert fake_helm.calls() == []
