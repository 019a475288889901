"""A local Kubernetes API server for the Helm tests: real HTTP, the real REST shapes.

Speaks the part of the API the portal (and the fake `helm`) uses: /version,
namespaces, secrets, resource quotas, deployments and SelfSubjectAccessReviews,
keeping objects in a dict and answering 404 NotFound, 409 AlreadyExists,
401 Unauthorized and 403 Forbidden with Status objects as the real server
does. Every object it is sent is validated with kubernetes-validate (strict),
so an invalid object fails the call as it would on a cluster. Also serves
/hubs/<namespace>/hub/health: 200 once that namespace's hub Deployment is
available, so readiness is checked over real HTTP too.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kubernetes_validate
import pytest

K8S_VERSION = "1.31"
TOKEN = "portal-test-token"

# (group/version prefix, plural) -> kind; namespaced unless listed in CLUSTER_SCOPED.
KINDS = {
    "namespaces": ("v1", "Namespace"),
    "secrets": ("v1", "Secret"),
    "resourcequotas": ("v1", "ResourceQuota"),
    "deployments": ("apps/v1", "Deployment"),
}
CLUSTER_SCOPED = {"namespaces"}
PATH = re.compile(
    r"^/(?:api/v1|apis/apps/v1)"
    r"(?:/namespaces/(?P<ns>[^/]+)/(?P<plural>secrets|resourcequotas|deployments)"
    r"|/(?P<cluster_plural>namespaces))"
    r"(?:/(?P<name>[^/]+))?$"
)


def status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


class FakeKube:
    """State and knobs of the fake API server (tests read and set these)."""

    def __init__(self) -> None:
        # (plural, namespace or "", name) -> object
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.invalid: list[str] = []
        # (verb, plural) the credentials may not do: 403 on the call, "no" in reviews
        self.forbidden: set[tuple[str, str]] = set()
        self.fail_with: int | None = None  # answer every API call with this status
        # GETs of a hub Deployment before it reports an available replica
        self.ready_after: int = 1
        self.deployment_gets: dict[tuple[str, str], int] = {}
        self.health_status = 200
        # (method, path pattern): the next such request waits until `go` is set, so a
        # test can kill the worker that sent it (tests/test_faults.py).
        self.pause_on: tuple[str, str] | None = None
        self.paused = threading.Event()
        self.go = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def kubeconfig(self, *, token: str = TOKEN, context: str = "fake", url: str = "") -> str:
        return (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: fake\n"
            "  cluster:\n"
            f"    server: {url or self.url}\n"
            "users:\n"
            "- name: portal\n"
            "  user:\n"
            f"    token: {token}\n"
            "contexts:\n"
            f"- name: {context}\n"
            "  context:\n"
            "    cluster: fake\n"
            "    user: portal\n"
            f"current-context: {context}\n"
        )

    def get(self, plural: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        return self.objects.get((plural, namespace, name))

    def bodies(self, method: str, fragment: str) -> list[Any]:
        return [body for m, path, body in self.requests if m == method and fragment in path]

    # --- handling ---------------------------------------------------------------
    def handle(self, method: str, path: str, headers: Any, body: Any) -> tuple[int, dict[str, Any]]:
        rule = self.pause_on
        if rule is not None and method == rule[0] and re.search(rule[1], path):
            self.pause_on = None  # once
            self.paused.set()
            self.go.wait(timeout=120)
        with self.lock:
            self.requests.append((method, path, body))
            return self._handle(method, path, headers, body)

    def _handle(self, method: str, path: str, headers: Any, body: Any) -> tuple[int, Any]:
        path = path.split("?", 1)[0]
        health = re.match(r"^/hubs/([^/]+)/hub/health$", path)
        if health:
            deployment = self.get("deployments", "hub", health[1])
            ready = deployment and deployment.get("status", {}).get("availableReplicas")
            return (self.health_status if ready else 503), {"status": "ok" if ready else "down"}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, status(401, "Unauthorized", "Unauthorized")
        if self.fail_with is not None:
            return self.fail_with, status(self.fail_with, "InternalError", "etcd is unhappy")
        if path in ("/version", "/version/"):
            return 200, {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.4",
                "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
                "gitTreeState": "clean",
                "buildDate": "2024-12-10T18:44:50Z",
                "goVersion": "go1.22.10",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and method == "POST":
            problem = self.validate(body)
            if problem:
                return 422, status(422, "Invalid", problem)
            attrs = body["spec"]["resourceAttributes"]
            allowed = (attrs["verb"], attrs["resource"]) not in self.forbidden
            return 201, {**body, "status": {"allowed": allowed}}
        match = PATH.match(path)
        if not match:
            return 404, status(404, "NotFound", f"the server could not find {path}")
        plural = match["plural"] or match["cluster_plural"]
        namespace = match["ns"] or ""
        name = match["name"]
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
            method, "get"
        )
        if (verb, plural) in self.forbidden:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return 403, status(
                403,
                "Forbidden",
                f'{plural} is forbidden: User "portal" cannot {verb} resource "{plural}" '
                f'in API group "" {scope}',
                kind=plural,
            )
        if namespace and ("namespaces", "", namespace) not in self.objects:
            return 404, status(
                404, "NotFound", f'namespaces "{namespace}" not found', name=namespace
            )
        key = (plural, namespace, name or "")
        if method == "POST":
            return self.create(plural, namespace, body)
        if name is None:
            return 405, status(405, "MethodNotAllowed", "list is not served here")
        if key not in self.objects:
            return 404, status(404, "NotFound", f'{plural} "{name}" not found', name=name)
        if method == "GET":
            obj = self.objects[key]
            if plural == "deployments":
                self.roll_out(namespace, name, obj)
            return 200, obj
        if method == "PUT":
            problem = self.validate(body)
            if problem:
                return 422, status(422, "Invalid", problem)
            self.objects[key] = self.stored(body, namespace)
            return 200, self.objects[key]
        if method == "PATCH":
            labels = (body or {}).get("metadata", {}).get("labels", {})
            self.objects[key]["metadata"].setdefault("labels", {}).update(labels)
            return 200, self.objects[key]
        if method == "DELETE":
            gone = self.objects.pop(key)
            if plural == "namespaces":
                # The real server marks it Terminating and empties it in the background.
                for other in [k for k in self.objects if k[1] == name]:
                    del self.objects[other]
                gone["status"] = {"phase": "Terminating"}
            return 200, gone
        return 405, status(405, "MethodNotAllowed", method)

    def create(self, plural: str, namespace: str, body: Any) -> tuple[int, dict[str, Any]]:
        problem = self.validate(body)
        if problem:
            return 422, status(422, "Invalid", problem)
        api_version, kind = KINDS[plural]
        if body.get("kind") != kind or body.get("apiVersion") != api_version:
            return 400, status(400, "BadRequest", f"expected {api_version} {kind}")
        name = body["metadata"]["name"]
        if body["metadata"].get("namespace", namespace) != namespace:
            return 400, status(400, "BadRequest", "the namespace does not match the URL")
        key = (plural, namespace, name)
        if key in self.objects:
            return 409, status(
                409, "AlreadyExists", f'{plural} "{name}" already exists', name=name, kind=plural
            )
        self.objects[key] = self.stored(body, namespace)
        if plural == "namespaces":
            self.objects[key]["status"] = {"phase": "Active"}
        if plural == "deployments":
            self.objects[key]["status"] = {"replicas": 1}
        return 201, self.objects[key]

    def roll_out(self, namespace: str, name: str, obj: dict[str, Any]) -> None:
        """A Deployment becomes available after `ready_after` GETs (a controller's work)."""
        seen = self.deployment_gets.get((namespace, name), 0) + 1
        self.deployment_gets[(namespace, name)] = seen
        if seen > self.ready_after:
            obj["status"] = {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}

    def stored(self, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        meta.setdefault("uid", f"uid-{len(self.objects) + 1}")
        meta["resourceVersion"] = str(len(self.requests))
        meta.setdefault("creationTimestamp", "2027-01-01T00:00:00Z")
        return obj

    def validate(self, body: Any) -> str:
        if not isinstance(body, dict):
            message = "the request body is not a JSON object"
        else:
            try:
                kubernetes_validate.validate(body, K8S_VERSION, strict=True)
                return ""
            except (kubernetes_validate.ValidationError, Exception) as exc:
                message = str(exc).splitlines()[0]
        self.invalid.append(message)
        return message


class Handler(BaseHTTPRequestHandler):
    fake: FakeKube

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        code, payload = self.fake.handle(self.command, self.path, self.headers, body)
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    fake = FakeKube()
    handler = type("BoundHandler", (Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
