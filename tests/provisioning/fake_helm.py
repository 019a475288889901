"""A recording `helm` executable for the Helm tests (a real process boundary).

`fake_helm` writes a small Python script named `helm` into a folder of its
own. Each run appends to calls.json there: its argv, the KUBECONFIG it was
given (and that file's mode and text), and a copy of the --values file with
its mode. What it prints and its exit code come from control.json, per helm
command ("upgrade", "uninstall"); by default it succeeds like helm does.

Like the real helm, a successful `upgrade --install` creates the hub
Deployment through the Kubernetes API named in the kubeconfig (which fails
if the namespace is missing), and `uninstall` deletes it, answering
"release: not found" for a release it never installed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCRIPT = r"""#!{python}
import json, os, stat, sys, time, urllib.error, urllib.request
from pathlib import Path

import yaml

here = Path(__file__).resolve().parent
control_file = here / "control.json"
control = json.loads(control_file.read_text()) if control_file.exists() else {{}}
args = sys.argv[1:]
command = args[0] if args else ""


def option(name):
    return args[args.index(name) + 1] if name in args else None


def mode(path):
    return oct(stat.S_IMODE(os.stat(path).st_mode)) if path and os.path.exists(path) else None


def text(path):
    return Path(path).read_text() if path and os.path.exists(path) else None


kubeconfig = os.environ.get("KUBECONFIG")
values = option("--values")
call = {{
    "argv": args,
    "kubeconfig": kubeconfig,
    "kubeconfig_mode": mode(kubeconfig),
    "kubeconfig_text": text(kubeconfig),
    "values_mode": mode(values),
    "values": text(values),
    "env": sorted(os.environ),
}}
calls = here / "calls.json"
recorded = json.loads(calls.read_text()) if calls.exists() else []
recorded.append(call)
calls.write_text(json.dumps(recorded))

release = args[2] if command == "upgrade" else (args[1] if len(args) > 1 else "")
namespace = option("--namespace") or "default"
plan = control.get(command, {{}})
if plan.get("pause"):
    # Wait here until the test releases this command (or kills the worker).
    (here / ("paused-" + command)).write_text(" ".join(args))
    while json.loads(control_file.read_text()).get(command, {{}}).get("pause"):
        time.sleep(0.05)
    plan = {{}}


def api(method, path, body=None):
    config = yaml.safe_load(Path(kubeconfig).read_text())
    server = config["clusters"][0]["cluster"]["server"]
    token = config["users"][0]["user"]["token"]
    request = urllib.request.Request(
        server + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={{"Authorization": "Bearer " + token, "Content-Type": "application/json"}},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def fail(message):
    print("Error: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


for line in plan.get("stdout", []):
    print(line, flush=True)
for line in plan.get("stderr", []):
    print(line, file=sys.stderr, flush=True)
if "exit" in plan:
    sys.exit(plan["exit"])

releases = here / "releases.json"
installed = json.loads(releases.read_text()) if releases.exists() else []
if command == "upgrade":
    status, answer = api("GET", "/api/v1/namespaces/" + namespace)
    if status != 200:
        fail("INSTALLATION FAILED: create: failed to create: " + answer["message"])
    labels = {{"app": "jupyterhub", "component": "hub", "release": release}}
    container = {{"name": "hub", "image": "quay.io/jupyterhub/k8s-hub:4.4.0"}}
    deployment = {{
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {{"name": "hub", "namespace": namespace, "labels": labels}},
        "spec": {{
            "replicas": 1,
            "selector": {{"matchLabels": labels}},
            "template": {{
                "metadata": {{"labels": labels}},
                "spec": {{"containers": [container]}},
            }},
        }},
    }}
    path = "/apis/apps/v1/namespaces/" + namespace + "/deployments"
    status, answer = api("POST", path, deployment)
    if status not in (201, 409):
        fail("INSTALLATION FAILED: " + answer["message"])
    first = release not in installed
    if first:
        print('Release "' + release + '" does not exist. Installing it now.', flush=True)
        installed.append(release)
    print("NAME: " + release, flush=True)
    print("NAMESPACE: " + namespace, flush=True)
    print("STATUS: deployed", flush=True)
    print("REVISION: 1", flush=True)
elif command == "uninstall":
    if release not in installed:
        fail("uninstall: Release not loaded: " + release + ": release: not found")
    api("DELETE", "/apis/apps/v1/namespaces/" + namespace + "/deployments/hub")
    installed.remove(release)
    print('release "' + release + '" uninstalled', flush=True)
releases.write_text(json.dumps(installed))
"""


@dataclass
class FakeHelm:
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "helm"

    def calls(self) -> list[dict[str, Any]]:
        file = self.folder / "calls.json"
        return json.loads(file.read_text()) if file.exists() else []

    def behave(
        self,
        command: str,
        *,
        stdout: Sequence[str] = (),
        stderr: Sequence[str] = (),
        code: int | None = None,
    ) -> None:
        """What the next runs of `helm <command>` print, and their exit code."""
        file = self.folder / "control.json"
        control = json.loads(file.read_text()) if file.exists() else {}
        plan: dict[str, Any] = {"stdout": list(stdout), "stderr": list(stderr)}
        if code is not None:
            plan["exit"] = code
        control[command] = plan
        file.write_text(json.dumps(control))

    def pause(self, command: str) -> None:
        """The next runs of `helm <command>` wait until released (tests/test_faults.py)."""
        file = self.folder / "control.json"
        control = json.loads(file.read_text()) if file.exists() else {}
        control[command] = {"pause": True}
        (self.folder / f"paused-{command}").unlink(missing_ok=True)
        file.write_text(json.dumps(control))

    def paused(self, command: str) -> bool:
        return (self.folder / f"paused-{command}").exists()

    def reset(self, command: str) -> None:
        file = self.folder / "control.json"
        control = json.loads(file.read_text()) if file.exists() else {}
        control.pop(command, None)
        file.write_text(json.dumps(control))


@pytest.fixture
def fake_helm(tmp_path: Path) -> Iterator[FakeHelm]:
    folder = tmp_path / "helm-bin"
    folder.mkdir()
    helm = FakeHelm(folder)
    helm.path.write_text(SCRIPT.format(python=sys.executable))
    helm.path.chmod(0o755)
    yield helm
