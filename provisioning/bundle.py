"""The Right to Replicate: a hub as a zip a community can take anywhere.

`bundle(hub)` returns the bytes of a zip holding what it takes to run the hub
with the plain Zero to JupyterHub chart on any Kubernetes cluster:

- `values.yaml`: the hub's z2jh values (rendered from its spec with the
  `z2jh` layout; for a hub adopted from a 2i2c repository, the `jupyterhub:`
  part of its own files, which basehub passes to z2jh as it is, plus the
  ingress basehub would have derived from its domain);
- `members.csv`: its admins and allowed users (`username,role`, the format
  the members import reads);
- `image.txt`: the user image reference;
- `secret.yaml`: the Kubernetes Secret its values refer to, with the key names
  and empty values (never the values);
- `README.md`: a runbook to install it with Helm;
- `original/…`: for adopted hubs, the files they were adopted with.

Built in memory; nothing is written or installed.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.conf import settings
from django.utils import timezone

from hubs import members as people
from hubs.models import Hub, HubRevision
from hubs.spec import SpecError
from hubs.validation import validate_spec
from provisioning.render.authenticators import CLASS_OF
from provisioning.render.renderer import context_for, render

CHART_REPOSITORY = "https://hub.jupyter.org/helm-chart/"
CHART_VERSION = "4.4.0"


@dataclass
class Bundle:
    name: str
    values: dict[str, Any]
    values_text: str
    notes: list[str] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)


def _merge(base: Any, override: Any) -> Any:
    """Helm's merge of two values files: maps key by key, the later file winning."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(merged[key], value) if key in merged else value
    return merged


def _adopted_values(hub: Hub, revision: HubRevision | None) -> Bundle:
    """z2jh values from an adopted hub's 2i2c files: their `jupyterhub:` subtrees, merged."""
    files = (revision.files or {}).get("files", {}) if revision is not None else {}
    values: dict[str, Any] = {}
    for path in sorted(files):
        try:
            data = yaml.safe_load(files[path]) or {}
        except yaml.YAMLError:
            continue
        if not isinstance(data, dict):
            continue
        # daskhub wraps basehub's values under `basehub:`.
        chart = data.get("basehub") if isinstance(data.get("basehub"), dict) else data
        subtree = chart.get("jupyterhub") if isinstance(chart, dict) else None
        if isinstance(subtree, dict):
            values = _merge(values, subtree)
    # What basehub derives from the hub's domain, and z2jh needs written down.
    domain = hub.domain
    tls = [{"hosts": [domain], "secretName": f"{hub.name}-tls"}]
    values.setdefault("ingress", {"enabled": True, "hosts": [domain], "tls": tls})
    config = ((values.get("hub") or {}).get("config") or {}) if isinstance(values, dict) else {}
    named = str((config.get("JupyterHub") or {}).get("authenticator_class") or "")
    block = CLASS_OF.get(named, named)
    if block.endswith("OAuthenticator"):
        own = config.setdefault(block, {})
        if isinstance(own, dict):
            own.setdefault("oauth_callback_url", f"https://{domain}/hub/oauth_callback")
    notes = [
        "Adopted from a 2i2c-style repository: values.yaml is the `jupyterhub:` part of the "
        "hub's own files (shown under original/). The cluster's shared files and the hub's "
        "encrypted secret file are not included; their settings must be given again.",
    ]
    text = yaml.safe_dump(values, sort_keys=False, allow_unicode=True)
    return Bundle(name=hub.name, values=values, values_text=text, notes=notes, originals=files)


def values_of(hub: Hub) -> Bundle:
    """The hub's z2jh values: rendered from its spec, or read from its adopted files."""
    revision = hub.revisions.filter(number=hub.current_revision).first()
    if not hub.has_spec:
        return _adopted_values(hub, revision)
    try:
        checked = validate_spec(hub.spec, hub=hub)
    except SpecError:
        # The catalog moved on (a retired image or tier): what runs is the revision.
        if revision is not None and (revision.files or {}).get("layout") == "z2jh":
            text = revision.files["files"]["values.yaml"]
            return Bundle(name=hub.name, values=yaml.safe_load(text) or {}, values_text=text)
        return _adopted_values(hub, revision)
    # To run the hub elsewhere: without the portal's service (it would read usage for nobody).
    text = render(checked.spec, context_for(checked, usage_service=False), "z2jh").files[
        "values.yaml"
    ]
    return Bundle(name=hub.name, values=yaml.safe_load(text) or {}, values_text=text)


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def secret_keys(values: dict[str, Any]) -> dict[str, list[str]]:
    """{Secret name: [keys]} the values read with secretKeyRef (names only)."""
    found: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict) and ref.get("name") and ref.get("key"):
                keys = found.setdefault(str(ref["name"]), [])
                if str(ref["key"]) not in keys:
                    keys.append(str(ref["key"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(values)
    return found


def members_of(values: dict[str, Any]) -> dict[str, list[str]]:
    auth = _dig(values, "hub", "config", "Authenticator") or {}
    return {
        "admin": [str(n) for n in auth.get("admin_users") or []],
        "allowed": [str(n) for n in auth.get("allowed_users") or []],
    }


def image_of(values: dict[str, Any]) -> str:
    image = _dig(values, "singleuser", "image") or {}
    name, tag = image.get("name") or "", image.get("tag") or ""
    return f"{name}:{tag}" if name and tag else str(name)


def _secret_yaml(namespace: str, secrets: dict[str, list[str]]) -> str:
    documents = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "stringData": dict.fromkeys(keys, ""),
        }
        for name, keys in secrets.items()
    ]
    header = "# Fill in the values (never commit them), then: kubectl apply -f secret.yaml\n"
    return header + yaml.safe_dump_all(documents, sort_keys=False) if documents else header


def readme(hub: Hub, bundle: Bundle, secrets: dict[str, list[str]], image: str) -> str:
    name, domain = hub.name, hub.domain
    lines = [
        f"# {hub.display_name or name}: run this hub anywhere",
        "",
        f"Exported from Hub Portal ({settings.PORTAL_BASE_URL}) on "
        f"{timezone.now():%Y-%m-%d %H:%M} UTC, revision r{hub.current_revision}.",
        f"It installs with the Zero to JupyterHub Helm chart {CHART_VERSION} on any Kubernetes "
        "cluster; nothing here depends on the portal.",
        "",
        "## What is here",
        "",
        "- `values.yaml`: the chart's values for this hub.",
        "- `members.csv`: its admins and allowed users (`username,role`).",
        f"- `image.txt`: the user image, `{image}`.",
        "- `secret.yaml`: the Kubernetes Secret the values read, with its key names only.",
        *(["- `original/`: the files the hub was adopted with."] if bundle.originals else []),
        "",
        *(f"Note: {note}\n" for note in bundle.notes),
        "## Install",
        "",
        "You need `kubectl` and `helm` pointed at your cluster, an ingress controller, and a",
        f"DNS record for `{domain}` (or change the domain in `values.yaml`).",
        "",
        "```sh",
        f"kubectl create namespace {name}",
    ]
    if secrets:
        lines += [
            "# Create an OAuth app with the callback URL "
            f"https://{domain}/hub/oauth_callback, fill secret.yaml in, then:",
            "kubectl apply -f secret.yaml",
        ]
    lines += [
        f"helm repo add jupyterhub {CHART_REPOSITORY}",
        "helm repo update",
        f"helm upgrade --install {name} jupyterhub/jupyterhub --version {CHART_VERSION} \\",
        f"  --namespace {name} --values values.yaml --wait",
        "```",
        "",
        f"Then open https://{domain}/. The admins in `members.csv` can log in and manage the hub.",
        "",
        "## Secrets",
        "",
    ]
    if secrets:
        for secret, keys in secrets.items():
            lines.append(f"- Secret `{secret}`: " + ", ".join(f"`{k}`" for k in keys))
    else:
        lines.append("This hub's values read no Secret.")
    lines += [
        "",
        "Users' home directories are not part of this bundle: copy them from the old cluster",
        "(for example with `kubectl cp` or a backup of the volumes) before switching DNS over.",
        "",
    ]
    return "\n".join(lines)


def bundle(hub: Hub) -> bytes:
    """The zip (bytes) described at the top of this module."""
    built = values_of(hub)
    secrets = secret_keys(built.values)
    image = image_of(built.values)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        root = f"{hub.name}/"
        archive.writestr(root + "values.yaml", built.values_text)
        archive.writestr(root + "members.csv", people.to_csv(members_of(built.values)))
        archive.writestr(root + "image.txt", image + "\n")
        archive.writestr(root + "secret.yaml", _secret_yaml(hub.name, secrets))
        archive.writestr(root + "README.md", readme(hub, built, secrets, image))
        for path, text in sorted(built.originals.items()):
            archive.writestr(root + "original/" + path, text)
    return out.getvalue()
