"""A small wrapper over the official Kubernetes client, for a cluster's kubeconfig.

Only the calls the Helm backend and `manage.py test_cluster` need, with every
failure turned into a DeployError a person can act on: unreachable, timed out
or a 5xx is transient (retried); a refused credential or a missing RBAC
permission, an unreadable kubeconfig or an invalid object is permanent.

The kubeconfig is read from the database (stored encrypted) into memory; the
client library itself writes embedded client certificates and keys to 0600
temporary files it removes when the process exits.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import urllib3
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import load_kube_config_from_dict

from provisioning.deploy.errors import DeployError

if TYPE_CHECKING:
    from hubs.models import Cluster

T = TypeVar("T")

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "hub-portal"
HUB_LABEL = "hub-portal/hub"
CLUSTER_LABEL = "hub-portal/cluster"
QUOTA_NAME = "hub-portal-quota"
# Seconds for one API call (connect, read); helm has its own timeout.
TIMEOUT = 30.0


def labels_for(hub: str, cluster: str) -> dict[str, str]:
    """The labels that mark a namespace (and what the portal puts in it) as a hub's."""
    return {MANAGED_BY: MANAGER, HUB_LABEL: hub, CLUSTER_LABEL: cluster}


def owns(existing: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """Whether an object labelled `existing` was made by the portal for the same hub."""
    existing = existing or {}
    return existing.get(MANAGED_BY) == MANAGER and existing.get(HUB_LABEL) == labels.get(HUB_LABEL)


def status_message(exc: ApiException) -> str:
    """The `message` of the Status object Kubernetes answered with, else the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"{exc.status} {exc.reason or ''}".strip()


def load_kubeconfig(text: str, context: str = "") -> client.Configuration:
    """A client configuration from kubeconfig text; permanent DeployError if unusable."""
    where = f" (context {context!r})" if context else ""
    if not text.strip():
        raise DeployError(
            "The cluster has no kubeconfig: upload one in the admin (Clusters → kubeconfig).",
            permanent=True,
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DeployError(
            f"The cluster's kubeconfig is not valid YAML ({' '.join(str(exc).split())}). "
            "Upload it again.",
            permanent=True,
        ) from exc
    if not isinstance(data, dict):
        raise DeployError(
            "The cluster's kubeconfig is not a kubeconfig file (a YAML mapping with clusters, "
            "users and contexts). Upload it again.",
            permanent=True,
        )
    configuration = client.Configuration()
    try:
        load_kube_config_from_dict(
            config_dict=data,
            context=context or None,
            client_configuration=configuration,
            persist_config=False,
        )
    except (ConfigException, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DeployError(
            f"The cluster's kubeconfig cannot be used{where}: {exc}. Check the context name "
            "and upload a complete kubeconfig (server, credentials, context).",
            permanent=True,
        ) from exc
    # A dead server should fail fast (the deployment is retried with backoff),
    # not spin in urllib3's own retries.
    configuration.retries = 1
    return configuration


class Kube:
    """The calls the portal makes to one cluster's API server."""

    def __init__(self, kubeconfig: str, context: str = "", *, timeout: float = TIMEOUT) -> None:
        self.configuration = load_kubeconfig(kubeconfig, context)
        self.timeout = timeout
        self.api = client.ApiClient(self.configuration)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.auth = client.AuthorizationV1Api(self.api)

    @classmethod
    def for_cluster(cls, cluster: Cluster, *, timeout: float = TIMEOUT) -> Kube:
        return cls(cluster.kubeconfig, cluster.kube_context, timeout=timeout)

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.api.close()

    @property
    def host(self) -> str:
        return str(self.configuration.host)

    # --- errors ----------------------------------------------------------------
    def error(self, exc: ApiException, verb: str, resource: str) -> DeployError:
        """A DeployError for an answer the API server gave to `verb resource`."""
        said = status_message(exc)
        status = exc.status or 0
        if status == 401:
            return DeployError(
                f"The cluster at {self.host} did not accept the kubeconfig's credentials "
                f"(401 Unauthorized) to {verb} {resource}; they may have expired. "
                "Upload a fresh kubeconfig.",
                permanent=True,
                detail=said,
            )
        if status == 403:
            return DeployError(
                f"forbidden by RBAC: {verb} {resource}. Grant the kubeconfig's user this "
                "permission on the cluster (run `manage.py test_cluster` to check them all).",
                permanent=True,
                detail=said,
            )
        if status in (409, 429) or status >= 500:
            return DeployError(
                f"The Kubernetes API at {self.host} answered {status} to {verb} {resource}: {said}",
                permanent=False,
                detail=said,
            )
        return DeployError(
            f"Kubernetes refused to {verb} {resource}: {said}", permanent=True, detail=said
        )

    def unreachable(self, exc: Exception, verb: str, resource: str) -> DeployError:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return DeployError(
                f"The TLS certificate of {self.host} was not accepted ({reason}); the "
                "kubeconfig's certificate-authority-data does not match the cluster. Upload "
                "the cluster's current kubeconfig.",
                permanent=True,
            )
        return DeployError(
            f"Cannot reach the Kubernetes API at {self.host} to {verb} {resource} ({reason}).",
            permanent=False,
        )

    @contextmanager
    def errors(self, verb: str, resource: str) -> Iterator[None]:
        try:
            yield
        except ApiException as exc:
            raise self.error(exc, verb, resource) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, verb, resource) from exc

    def call(
        self,
        verb: str,
        resource: str,
        fn: Callable[..., T],
        *args: Any,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> T | None:
        """`fn(*args, **kwargs)` with errors mapped; None for a 404 when `missing_ok`."""
        with self.errors(verb, resource):
            try:
                return fn(*args, _request_timeout=self.timeout, **kwargs)
            except ApiException as exc:
                if missing_ok and exc.status == 404:
                    return None
                raise

    # --- what the backend needs -----------------------------------------------
    def server_version(self) -> str:
        info = self.call("get", "the server version", client.VersionApi(self.api).get_code)
        assert info is not None  # noqa: S101 - missing_ok is off  # nosec B101
        return str(info.git_version)

    def namespace_labels(self, name: str) -> dict[str, str] | None:
        """The labels of namespace `name`; None if there is no such namespace."""
        found = self.call(
            "get", f"namespace {name}", self.core.read_namespace, name, missing_ok=True
        )
        if found is None:
            return None
        return dict(found.metadata.labels or {}) if found.metadata else {}

    def ensure_namespace(self, name: str, labels: Mapping[str, str]) -> bool:
        """Create namespace `name` with `labels`; True if it was created, False if it was there.

        An existing namespace must carry the portal's labels for the same hub:
        the portal never installs into (or later deletes) a namespace it did
        not make, such as `default` or another team's.
        """
        body = client.V1Namespace(
            api_version="v1",
            kind="Namespace",
            metadata=client.V1ObjectMeta(name=name, labels=dict(labels)),
        )
        what = f"namespace {name}"
        with self.errors("create", what):
            try:
                self.core.create_namespace(body, _request_timeout=self.timeout)
                return True
            except ApiException as exc:
                if exc.status != 409:
                    raise
        existing = self.call("get", what, self.core.read_namespace, name)
        assert existing is not None  # noqa: S101 - an invariant, not a check  # nosec B101
        phase = existing.status.phase if existing.status else None
        if phase == "Terminating":
            raise DeployError(
                f"Namespace {name} is still being deleted (a previous removal of this hub); "
                "trying again once it is gone.",
                permanent=False,
            )
        current = dict((existing.metadata.labels if existing.metadata else None) or {})
        if not owns(current, labels):
            raise DeployError(
                f"Namespace {name} already exists and was not created by the portal for this "
                f"hub (it lacks the label {HUB_LABEL}={labels.get(HUB_LABEL)}). Choose another "
                "namespace template, or label the namespace if the hub should take it over.",
                permanent=True,
            )
        if any(current.get(k) != v for k, v in labels.items()):
            self.call(
                "patch",
                what,
                self.core.patch_namespace,
                name,
                {"metadata": {"labels": dict(labels)}},
                _content_type="application/merge-patch+json",
            )
        return False

    def ensure_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Create or replace Secret `name` holding `data` (values are never logged)."""
        body = client.V1Secret(
            api_version="v1",
            kind="Secret",
            metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=dict(labels or {})),
            type="Opaque",
            data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        )
        what = f"secrets in namespace {namespace}"
        with self.errors("create", what):
            try:
                self.core.create_namespaced_secret(namespace, body, _request_timeout=self.timeout)
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
        self.call("update", what, self.core.replace_namespaced_secret, name, namespace, body)

    def ensure_resource_quota(
        self,
        namespace: str,
        hard: Mapping[str, str],
        name: str = QUOTA_NAME,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Create or replace the namespace's ResourceQuota `name` with `hard` limits."""
        body = client.V1ResourceQuota(
            api_version="v1",
            kind="ResourceQuota",
            metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=dict(labels or {})),
            spec=client.V1ResourceQuotaSpec(hard={k: str(v) for k, v in hard.items()}),
        )
        what = f"resourcequotas in namespace {namespace}"
        with self.errors("create", what):
            try:
                self.core.create_namespaced_resource_quota(
                    namespace, body, _request_timeout=self.timeout
                )
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
        self.call(
            "update", what, self.core.replace_namespaced_resource_quota, name, namespace, body
        )

    def delete_resource_quota(self, namespace: str, name: str = QUOTA_NAME) -> bool:
        """Delete the quota; False if there was none."""
        gone = self.call(
            "delete",
            f"resourcequotas in namespace {namespace}",
            self.core.delete_namespaced_resource_quota,
            name,
            namespace,
            missing_ok=True,
        )
        return gone is not None

    def delete_namespace(self, name: str) -> bool:
        """Start deleting namespace `name` and all it holds; False if it was already gone."""
        gone = self.call(
            "delete", f"namespace {name}", self.core.delete_namespace, name, missing_ok=True
        )
        return gone is not None

    def deployment_available(self, namespace: str, name: str = "hub") -> bool:
        """Whether Deployment `name` has at least one available replica (False if absent)."""
        found = self.call(
            "get",
            f"deployments.apps in namespace {namespace}",
            self.apps.read_namespaced_deployment,
            name,
            namespace,
            missing_ok=True,
        )
        if found is None or found.status is None:
            return False
        return bool(found.status.available_replicas)

    def can_i(self, verb: str, resource: str, namespace: str = "", group: str = "") -> bool:
        """Whether the credentials may `verb` `resource` (a SelfSubjectAccessReview)."""
        review = client.V1SelfSubjectAccessReview(
            api_version="authorization.k8s.io/v1",
            kind="SelfSubjectAccessReview",
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb, resource=resource, group=group, namespace=namespace or None
                )
            ),
        )
        answer = self.call(
            "create",
            "selfsubjectaccessreviews.authorization.k8s.io",
            self.auth.create_self_subject_access_review,
            review,
        )
        return bool(answer is not None and answer.status is not None and answer.status.allowed)


# What a helm-mode cluster's credentials must be allowed: (verb, resource, group, namespaced).
# Helm keeps each release as Secrets in its namespace, and the chart itself
# creates Deployments, Roles and RoleBindings there.
PERMISSIONS: tuple[tuple[str, str, str, bool], ...] = (
    ("create", "namespaces", "", False),
    ("delete", "namespaces", "", False),
    ("create", "secrets", "", True),
    ("list", "secrets", "", True),
    ("create", "resourcequotas", "", True),
    ("create", "deployments", "apps", True),
    ("create", "roles", "rbac.authorization.k8s.io", True),
    ("create", "rolebindings", "rbac.authorization.k8s.io", True),
)


def test_connection(cluster: Cluster) -> list[str]:
    """Lines saying what the cluster's credentials reach and may do.

    Raises DeployError (with the lines so far as its detail) when the API
    cannot be reached or a permission a Helm install needs is missing.
    """
    try:
        namespace = cluster.namespace_template.format(hub="example-hub")
    except (KeyError, IndexError, ValueError):
        namespace = "example-hub"  # the deployment itself reports a broken template
    lines: list[str] = []
    with Kube.for_cluster(cluster, timeout=15) as kube:
        version = kube.server_version()
        lines.append(f"Kubernetes {version} at {kube.host}")
        missing = []
        for verb, resource, group, namespaced in PERMISSIONS:
            name = f"{resource}.{group}" if group else resource
            where = f" in namespace {namespace}" if namespaced else ""
            try:
                allowed = kube.can_i(verb, resource, namespace if namespaced else "", group)
            except DeployError as exc:
                raise DeployError(
                    exc.message, permanent=exc.permanent, detail="\n".join(lines)
                ) from exc
            lines.append(f"{'yes' if allowed else 'NO '} may {verb} {name}{where}")
            if not allowed:
                missing.append(f"{verb} {name}")
    helm_ok = not missing
    lines.append(
        "Helm releases: "
        + (
            "can be installed (release records are Secrets in the hub's namespace)"
            if helm_ok
            else "cannot be installed with these credentials"
        )
    )
    if missing:
        raise DeployError(
            f"forbidden by RBAC: {', '.join(missing)}. Grant the kubeconfig's user these "
            "permissions (a ClusterRole bound to it), then test again.",
            permanent=True,
            detail="\n".join(lines),
        )
    return lines


# Not a test, whatever its name says (pytest collects test_* it finds imported into tests).
test_connection.__test__ = False  # type: ignore[attr-defined]
