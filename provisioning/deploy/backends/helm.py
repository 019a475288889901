"""Direct Helm installs: make a hub's z2jh values real on its cluster with `helm`.

Apply, with the cluster's kubeconfig (stored encrypted):

1. ensure the hub's namespace (labelled as the portal's: the portal never
   installs into, or later deletes, a namespace it did not make);
2. write the hub's secrets (OAuth client, shared password) as one Kubernetes
   Secret, which the values reference through `hub.extraEnv` secretKeyRefs,
   so no secret is ever in the values file, a log line or an argument;
3. apply the tier's ResourceQuota;
4. `helm upgrade --install --atomic --wait` with the chart pinned per cluster,
   its output streamed into the deployment log line by line;
5. wait until the hub Deployment is available and /hub/health answers 200.

Every step is idempotent, so a retry after a transient fault (or a crash)
simply runs them again. Decommission uninstalls the release and deletes the
namespace, and with it the users' home directories, so it needs an explicit
confirmation of that data loss.

The values file and the kubeconfig helm reads live in a private temporary
folder (0700, files 0600) that is removed whatever happens.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess  # git and helm, with argument lists, no shell  # nosec B404
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from secrets import token_hex
from typing import IO, TYPE_CHECKING, Any

import requests
import yaml
from django.conf import settings

from hubs.spec import DNS_LABEL
from provisioning.deploy import health
from provisioning.deploy.backends.base import Backend, DeployError, LogFn, Outcome, rendered_files
from provisioning.deploy.kube import Kube, labels_for, owns

if TYPE_CHECKING:
    from hubs.models import Cluster, Hub
    from provisioning.models import Deployment

# Lines of helm's stderr kept as a failure's detail.
TAIL = 20
# Longest helm output line written to the log.
MAX_LINE = 2000
# Seconds one /hub/health request may take.
HEALTH_TIMEOUT = 10.0
# The portal's own secrets have no business in helm's environment; the rest
# stays, since exec credential plugins (gke-gcloud-auth-plugin, aws) need the
# worker's cloud credentials, proxies and HOME.
HIDDEN_ENV = re.compile(r"^(PORTAL_|DJANGO_|SECRET_KEY|DATABASE_URL|REDIS_URL|CELERY_)")
# HubSecret keys whose values must never appear in a values file.
SECRET_VALUES = ("oauth_client_secret", "shared_password", "admin_password", "usage_token")


def secret_key(hub_secret_key: str) -> str:
    """The Secret's key for a HubSecret key: `oauth_client_id` -> `oauth-client-id`.

    The names the z2jh templates' secretKeyRefs use.
    """
    return hub_secret_key.replace("_", "-")


def ensure_service_token(hub: Any) -> None:
    """The portal's JupyterHub service token for a helm-installed hub, made once (monitoring
    reads the hub's users with it; the values register it as the `hub-portal` service and
    read it from the hub's Secret). Stored encrypted; never in a values file or a log."""
    from hubs.models import HubSecret

    HubSecret.objects.get_or_create(
        hub=hub, key=HubSecret.Key.USAGE_TOKEN, defaults={"value": token_hex(32)}
    )


def secret_refs(values: Any, secret_name: str) -> set[str]:
    """The keys of Secret `secret_name` the values refer to through secretKeyRef."""
    found: set[str] = set()
    if isinstance(values, Mapping):
        ref = values.get("secretKeyRef")
        if isinstance(ref, Mapping) and ref.get("name") == secret_name and ref.get("key"):
            found.add(str(ref["key"]))
        for value in values.values():
            found |= secret_refs(value, secret_name)
    elif isinstance(values, list):
        for value in values:
            found |= secret_refs(value, secret_name)
    return found


def helm_env(kubeconfig: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not HIDDEN_ENV.match(k)}
    env["KUBECONFIG"] = str(kubeconfig)
    return env


def error_line(lines: list[str]) -> str:
    """helm's own summary of a failure: its last `Error: ...` line, else its last line."""
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1].strip() if lines else ""


def classify(command: str, code: int, stderr: list[str], cluster: Cluster) -> DeployError:
    """A DeployError a person can act on, from what a failed `helm <command>` said."""
    text = "\n".join(stderr)
    low = text.lower()
    said = error_line(stderr)
    detail = "\n".join(stderr[-TAIL:])

    def fail(message: str, *, permanent: bool) -> DeployError:
        return DeployError(message, permanent=permanent, detail=detail)

    if "error loading config file" in low or re.search(r'context "[^"]*" does not exist', low):
        return fail(
            f"helm cannot use the cluster's kubeconfig ({said}). Upload a complete kubeconfig "
            "and check the cluster's kube context.",
            permanent=True,
        )
    chart = f"{cluster.chart_name} {cluster.chart_version}"
    if (
        "no chart version found" in low
        or re.search(r'chart "[^"]*"( version "[^"]*")? not found', low)
        or ("failed to fetch" in low and "404" in low)
    ):
        return fail(
            f"The chart {chart} is not in {cluster.chart_repository}. Set a chart version that "
            "exists there on the cluster (the z2jh releases are listed at "
            "https://hub.jupyter.org/helm-chart/).",
            permanent=True,
        )
    if "is not a valid chart repository or cannot be reached" in low:
        return fail(
            f"helm cannot reach the chart repository {cluster.chart_repository} ({said}); "
            "will try again. If it persists, check the repository URL on the cluster.",
            permanent=False,
        )
    if "unauthorized" in low and "forbidden" not in low:
        return fail(
            "The cluster did not accept the kubeconfig's credentials (Unauthorized); they may "
            "have expired. Upload a fresh kubeconfig.",
            permanent=True,
        )
    if "forbidden" in low:
        denied = re.search(r'cannot (\w+) resource "([^"]+)"', text)
        what = f"{denied[1]} {denied[2]}" if denied else said
        return fail(
            f"forbidden by RBAC: {what}. Grant the kubeconfig's user this permission "
            "(`manage.py test_cluster` lists what a helm install needs).",
            permanent=True,
        )
    if any(
        marker in low
        for marker in (
            "kubernetes cluster unreachable",
            "connection refused",
            "no such host",
            "i/o timeout",
            "tls handshake timeout",
            "connection reset by peer",
        )
    ):
        return fail(f"helm cannot reach the cluster ({said}); will try again.", permanent=False)
    if "another operation (install/upgrade/rollback) is in progress" in low:
        return fail(
            "An earlier helm operation on this release never finished, so helm refuses to start "
            "another. An operator must run `helm rollback` (or `helm uninstall` for a first "
            "install) on the release, then retry.",
            permanent=True,
        )
    rolled_back = "rolled back" in low or "uninstalled due to atomic" in low
    if "timed out waiting for the condition" in low or "context deadline exceeded" in low:
        return fail(
            f"The hub's pods were not ready within {cluster.helm_timeout} s, so helm gave up"
            + (" and rolled the release back" if rolled_back else "")
            + "; will try again. Images may still be pulling or nodes scaling up; if it keeps "
            "happening, look at the namespace's events.",
            permanent=False,
        )
    if rolled_back or "upgrade failed" in low or "installation failed" in low:
        return fail(
            f"helm could not {'install' if 'installation' in low else 'upgrade'} the hub and "
            f"rolled it back (--atomic): {said}",
            permanent=True,
        )
    return fail(f"helm {command} failed (exit code {code}): {said}", permanent=True)


@dataclass
class HelmRun:
    """One hub's release on its cluster, for one deployment."""

    deployment: Deployment
    log: LogFn
    poll_every: float

    # --- what to change ---------------------------------------------------
    @cached_property
    def hub(self) -> Hub:
        return self.deployment.hub

    @cached_property
    def cluster(self) -> Cluster:
        return self.hub.cluster

    @property
    def release(self) -> str:
        return self.hub.name

    @cached_property
    def namespace(self) -> str:
        template = self.cluster.namespace_template
        try:
            name = template.format(hub=self.hub.name)
        except (KeyError, IndexError, ValueError) as exc:
            raise DeployError(
                f"The cluster's namespace template {template!r} is not valid ({exc}); use "
                "{hub} for the hub's name.",
                permanent=True,
            ) from exc
        if not DNS_LABEL.match(name) or len(name) > 63:
            raise DeployError(
                f"The namespace {name!r} (from the template {template!r}) is not a valid "
                "Kubernetes name: lowercase letters, digits and '-', at most 63 characters.",
                permanent=True,
            )
        return name

    @cached_property
    def labels(self) -> dict[str, str]:
        return labels_for(self.hub.name, self.cluster.slug)

    @cached_property
    def values_text(self) -> str:
        rendered = rendered_files(self.deployment.revision, "z2jh", "a Helm cluster")
        if "values.yaml" not in rendered.files:
            raise DeployError(
                f"Revision r{self.deployment.revision.number} has no values.yaml to install.",
                permanent=True,
            )
        return rendered.files["values.yaml"]

    @cached_property
    def secret_name(self) -> str:
        return self.cluster.hub_secret_name

    def secrets(self) -> dict[str, str]:
        """{Secret key: value} from the hub's HubSecret rows (the portal's service token made
        first if the hub has none)."""
        ensure_service_token(self.hub)
        return {secret_key(s.key): s.value for s in self.hub.secrets.all() if s.value}

    def check_secrets(self, secrets: Mapping[str, str]) -> None:
        """Every key the values read is set, and no secret value is in the values file."""
        try:
            values = yaml.safe_load(self.values_text)
        except yaml.YAMLError as exc:
            raise DeployError(
                f"Revision r{self.deployment.revision.number}'s values are not YAML: {exc}",
                permanent=True,
            ) from exc
        from hubs.models import HubSecret

        names = {secret_key(key): str(label) for key, label in HubSecret.Key.choices}
        missing = sorted(secret_refs(values, self.secret_name) - set(secrets))
        if missing:
            wanted = ", ".join(names.get(key, key) for key in missing)
            raise DeployError(
                f"The hub's settings read secrets it does not have yet: {wanted}. Add them to "
                "the hub (Hub secrets in the admin), then retry the deployment.",
                permanent=True,
            )
        for key in SECRET_VALUES:
            value = secrets.get(secret_key(key), "")
            if len(value) >= 6 and value in self.values_text:
                raise DeployError(
                    f"The values file contains the hub's {names[secret_key(key)]}; refusing to "
                    "hand it to helm. Secrets belong in the hub's secrets, not its settings.",
                    permanent=True,
                )

    # --- helm -------------------------------------------------------------
    @cached_property
    def helm(self) -> str:
        binary = self.cluster.helm_binary or "helm"
        found = shutil.which(binary)
        if found is None:
            raise DeployError(
                f"helm is not installed at {binary} on this worker. Install helm 3 (or set the "
                "cluster's helm binary to its full path).",
                permanent=True,
            )
        return found

    def kube_args(self) -> list[str]:
        context = self.cluster.kube_context
        return ["--kube-context", context] if context else []

    @contextmanager
    def private_files(self, **files: str) -> Iterator[dict[str, Path]]:
        """Files only this user can read, in a folder removed on the way out."""
        folder = Path(tempfile.mkdtemp(prefix="hub-portal-helm-"))  # mode 0700
        try:
            paths = {}
            for name, text in files.items():
                path = folder / name
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(text)
                paths[name] = path
            yield paths
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def run_helm(self, args: list[str], kubeconfig: Path) -> tuple[int, list[str]]:
        """Run helm, logging each line it prints as it comes; (exit code, stderr lines)."""
        # helm's own --timeout bounds the wait, and --atomic's rollback may wait
        # as long again; past that, something is stuck and helm is stopped.
        limit = 2 * self.cluster.helm_timeout + 60
        try:
            process = subprocess.Popen(  # an argument list, no shell  # nosec B603
                [self.helm, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=helm_env(kubeconfig),
                text=True,
                errors="replace",
            )
        except OSError as exc:
            raise DeployError(
                f"helm is not installed at {self.cluster.helm_binary} ({exc.strerror}).",
                permanent=True,
            ) from exc
        lines: queue.Queue[tuple[str, str | None]] = queue.Queue()

        # The log is written from this thread only (it holds the database
        # connection); the readers only pass lines along.
        def pump(stream: IO[str], name: str) -> None:
            for line in stream:
                lines.put((name, line))
            lines.put((name, None))

        readers = [
            threading.Thread(target=pump, args=(process.stdout, "stdout"), daemon=True),
            threading.Thread(target=pump, args=(process.stderr, "stderr"), daemon=True),
        ]
        for reader in readers:
            reader.start()
        stderr: deque[str] = deque(maxlen=500)
        deadline = time.monotonic() + limit
        try:
            open_streams = 2
            while open_streams:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeployError(
                        f"helm did not finish within {limit} s and was stopped; will try again.",
                        permanent=False,
                        detail="\n".join(list(stderr)[-TAIL:]),
                    )
                try:
                    name, line = lines.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    continue
                if line is None:
                    open_streams -= 1
                    continue
                line = line.rstrip("\r\n")
                if name == "stderr":
                    stderr.append(line)
                if line.strip():
                    self.log(line[:MAX_LINE], step="helm", level="output")
            code = process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for reader in readers:
                reader.join(timeout=5)
        return code, list(stderr)

    # --- readiness --------------------------------------------------------
    @property
    def health_url(self) -> str:
        return health.health_url(self.hub.address)

    def healthy(self) -> tuple[bool, str]:
        try:
            response = requests.get(self.health_url, timeout=HEALTH_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return response.status_code == 200, f"answered {response.status_code}"

    def wait_until_ready(self, kube: Kube) -> None:
        """Until the hub Deployment is available and /hub/health answers 200."""
        timeout = self.cluster.readiness_timeout
        deadline = time.monotonic() + timeout
        self.log(
            f"Waiting up to {timeout} s for the hub to be available and {self.health_url} "
            "to answer.",
            step="ready",
        )
        available, last = False, "the hub Deployment is not available yet"
        while True:
            if not available:
                available = kube.deployment_available(self.namespace, "hub")
                if available:
                    self.log("The hub Deployment is available.", step="ready")
            if available:
                ok, last = self.healthy()
                if ok:
                    self.log(f"{self.health_url} answered 200: the hub is up.", step="ready")
                    return
                last = f"{self.health_url} {last}"
            if time.monotonic() + self.poll_every > deadline:
                raise DeployError(
                    f"The hub was not ready within {timeout} s ({last}); will try again. Check "
                    "the hub pod's logs and that the hub URL template reaches it.",
                    permanent=False,
                )
            time.sleep(self.poll_every)

    # --- the two actions --------------------------------------------------
    def apply(self) -> Outcome:
        values = self.values_text
        secrets = self.secrets()
        self.check_secrets(secrets)
        _ = self.helm  # fail before touching the cluster when helm is missing
        ns = self.namespace
        with Kube.for_cluster(self.cluster) as kube:
            if kube.ensure_namespace(ns, self.labels):
                self.log(f"Created namespace {ns}.", step="namespace")
            else:
                self.log(f"Namespace {ns} is there.", step="namespace")
            if secrets:
                kube.ensure_secret(ns, self.secret_name, secrets, self.labels)
                # Key names only; values are never logged.
                self.log(
                    f"Wrote Secret {self.secret_name} ({', '.join(sorted(secrets))}).",
                    step="secret",
                )
            quota = (self.hub.offering.resource_quota if self.hub.offering else None) or {}
            if quota:
                kube.ensure_resource_quota(ns, quota, labels=self.labels)
                limits = ", ".join(f"{k}={v}" for k, v in sorted(quota.items()))
                self.log(f"Applied the resource quota ({limits}).", step="quota")
            elif kube.delete_resource_quota(ns):
                self.log("Removed the resource quota (the tier has none).", step="quota")
            with self.private_files(**{"values.yaml": values, "kubeconfig": self.kubeconfig}) as f:
                args = [
                    "upgrade",
                    "--install",
                    self.release,
                    self.cluster.chart_name,
                    "--repo",
                    self.cluster.chart_repository,
                    "--version",
                    self.cluster.chart_version,
                    "--namespace",
                    ns,
                    "--values",
                    str(f["values.yaml"]),
                    "--atomic",
                    "--wait",
                    "--timeout",
                    f"{self.cluster.helm_timeout}s",
                    *self.kube_args(),
                ]
                self.log(
                    f"helm upgrade --install {self.release} {self.cluster.chart_name} "
                    f"{self.cluster.chart_version} in namespace {ns}.",
                    step="helm",
                )
                code, stderr = self.run_helm(args, f["kubeconfig"])
            if code != 0:
                raise classify("upgrade", code, stderr, self.cluster)
            self.wait_until_ready(kube)
        return Outcome(done=True)

    @property
    def kubeconfig(self) -> str:
        text = self.cluster.kubeconfig
        if not text.strip():
            raise DeployError(
                "The cluster has no kubeconfig: upload one in the admin.", permanent=True
            )
        return text

    def decommission(self) -> Outcome:
        if not self.deployment.options.get("confirm_data_loss"):
            raise DeployError(
                f"Removing hub {self.hub.name} deletes namespace {self.namespace} and with it "
                "every user's home directory. Back up what must be kept, then decommission the "
                "hub again confirming the data loss.",
                permanent=True,
            )
        ns = self.namespace
        _ = self.helm  # fail before touching the cluster when helm is missing
        with Kube.for_cluster(self.cluster) as kube:
            with self.private_files(kubeconfig=self.kubeconfig) as f:
                args = [
                    "uninstall",
                    self.release,
                    "--namespace",
                    ns,
                    "--timeout",
                    f"{self.cluster.helm_timeout}s",
                    *self.kube_args(),
                ]
                self.log(f"helm uninstall {self.release} in namespace {ns}.", step="helm")
                code, stderr = self.run_helm(args, f["kubeconfig"])
            if code != 0:
                if "release: not found" in "\n".join(stderr).lower():
                    self.log(f"Release {self.release} is not installed (already removed).")
                else:
                    raise classify("uninstall", code, stderr, self.cluster)
            labels = kube.namespace_labels(ns)
            if labels is None:
                self.log(f"Namespace {ns} is already gone.", step="namespace")
            elif not owns(labels, self.labels):
                self.log(
                    f"Namespace {ns} was not created by the portal for this hub; left in place.",
                    step="namespace",
                    level="warning",
                )
            else:
                kube.delete_namespace(ns)
                self.log(
                    f"Deleting namespace {ns} with everything in it (home directories too).",
                    step="namespace",
                )
        return Outcome(done=True)


class HelmBackend(Backend):
    name = "helm"

    def __init__(self, poll_every: float | None = None) -> None:
        self.poll_every = poll_every

    def run(self, deployment: Deployment, log: LogFn) -> HelmRun:
        every = self.poll_every
        if every is None:
            every = float(settings.PORTAL_HELM_POLL_EVERY)
        return HelmRun(deployment, log, every)

    def apply(self, deployment: Deployment, log: LogFn) -> Outcome:
        return self.run(deployment, log).apply()

    def decommission(self, deployment: Deployment, log: LogFn) -> Outcome:
        return self.run(deployment, log).decommission()
