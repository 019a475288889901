"""Adopt an existing 2i2c-layout repository: its clusters and hubs become portal records.

`import_checkout()` reads every `config/clusters/*/cluster.yaml` of a checkout
(or `*/cluster.yaml` of a folder laid out like `config/clusters/`, such as
2i2c's examples) and the hubs' own values files. Clusters take their provider
and conventions from what is there: the chart their hubs use, the shared
values files (and their text, which validation merges as the deployer does),
the secret file pattern, the provider and account values.jsonnet is rendered
with, and the operator inputs every new hub must be given (fleet/learn.py).
Hubs become `active`, imported, with their current files as revision 1.
Running it again updates what changed rather than duplicating; an inputs
list an operator edited is kept.

Files whose name says they are secret (`*.secret.*`, sops-encrypted) are never
read: they stay in the repository, referenced from the hub's entry.
"""

from __future__ import annotations

import collections
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from hubs import audit
from hubs.models import Cluster, Hub, Offering
from hubs.spec import DNS_LABEL, HOSTNAME
from hubs.states import HUB_LIVE
from provisioning import lifecycle, revisions
from provisioning.fleet.drift import differences, read_shared
from provisioning.fleet.learn import DEFAULTS, learn_inputs
from provisioning.layout import cluster_yaml, paths
from provisioning.models import DeployTarget
from provisioning.render import deployer
from provisioning.render.authenticators import CLASS_OF, PROVIDER_OF_CLASS
from provisioning.render.renderer import Rendered
from provisioning.render.validate import UpstreamMissing, dig, upstream, upstream_dir

PROVIDERS = {"gcp": "gcp", "aws": "aws", "azure": "azure"}


@dataclass
class Report:
    """What an import did, for the command's output and the tests."""

    clusters_created: list[str] = field(default_factory=list)
    clusters_updated: list[str] = field(default_factory=list)
    hubs_created: list[str] = field(default_factory=list)
    hubs_updated: list[str] = field(default_factory=list)
    hubs_unchanged: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    learnt: list[str] = field(default_factory=list)  # per cluster: chart and inputs
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"clusters: {len(self.clusters_created)} created, {len(self.clusters_updated)} updated",
            f"hubs: {len(self.hubs_created)} created, {len(self.hubs_updated)} updated, "
            f"{len(self.hubs_unchanged)} unchanged",
        ]
        out += self.learnt
        out += [f"drift: {hub}" for hub in self.drifted]
        out += [f"could not read: {problem}" for problem in self.problems]
        return out


def import_checkout(checkout: Path, *, target: DeployTarget | None = None) -> Report:
    report = Report()
    files = paths.cluster_files(checkout)
    if not files:
        report.problems.append(
            f"{checkout}: no {paths.CLUSTERS_DIR}/*/cluster.yaml (nor */cluster.yaml) found"
        )
        return report
    for folder, path in files:
        where = paths.cluster_file_path(folder)
        try:
            data = cluster_yaml.load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            report.problems.append(f"{where}: {_first_line(exc)}")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("hubs", []), list):
            report.problems.append(f"{where}: not a cluster file (no `hubs:` list)")
            continue
        if data.get("name") != folder:
            report.problems.append(
                f"{where}: its name {data.get('name')!r} differs from its folder; "
                f"using the folder name {folder!r}"
            )
        with transaction.atomic():
            _import_cluster(folder, path.parent, data, target, report)
    return report


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- clusters ------------------------------------------------------------------------


def conventions(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """How this cluster lays out its hubs, learnt from the entries it has."""
    charts = collections.Counter(str(e.get("helm_chart", "basehub")) for e in entries)
    shared: collections.Counter[str] = collections.Counter()
    secret: collections.Counter[str] = collections.Counter()
    first_order: list[str] = []
    for entry in entries:
        name = str(entry.get("name", ""))
        for filename in entry.get("helm_chart_values_files") or []:
            if not isinstance(filename, str):
                continue
            if name and name in Path(filename).name:
                if paths.is_secret_file(filename):
                    secret[filename.replace(name, "{hub}")] += 1
            else:
                shared[filename] += 1
                if filename not in first_order:
                    first_order.append(filename)
    # Shared files are those most hubs use (a hub or two may opt out).
    threshold = max(1, len(entries) // 2)
    found: dict[str, Any] = {
        "helm_chart": charts.most_common(1)[0][0] if charts else "basehub",
        "shared_values_files": [f for f in first_order if shared[f] > threshold]
        or ([first_order[0]] if first_order else []),
    }
    if secret:
        found["secret_values_file"] = secret.most_common(1)[0][0]
    return found


def base_domain(entries: list[dict[str, Any]]) -> str:
    """The domain hubs hang under: `<hub>.<base>` for most of them."""
    suffixes: collections.Counter[str] = collections.Counter()
    for entry in entries:
        name, domain = str(entry.get("name", "")), str(entry.get("domain", ""))
        if domain.startswith(f"{name}.") and HOSTNAME.match(domain[len(name) + 1 :]):
            suffixes[domain[len(name) + 1 :]] += 1
        elif "." in domain and HOSTNAME.match(domain.split(".", 1)[1]):
            suffixes[domain.split(".", 1)[1]] += 1
    return suffixes.most_common(1)[0][0] if suffixes else ""


def _region(data: dict[str, Any]) -> str:
    for provider, keys in (("gcp", ("zone", "region")), ("aws", ("region",)),
                           ("azure", ("location", "region"))):  # fmt: skip
        block = data.get(provider)
        if isinstance(block, dict):
            for key in keys:
                if isinstance(block.get(key), str):
                    return str(block[key])[:50]
    return ""


def learn(
    slug: str,
    folder: Path,
    data: dict[str, Any],
    entries: list[dict[str, Any]],
    hubs: dict[str, Rendered],
    report: Report,
) -> dict[str, Any]:
    """Everything a cluster's conventions hold, learnt from its folder and its hubs."""
    learnt = conventions(entries)
    learnt.update(deployer.cluster_facts(data))
    learnt["shared_values"] = read_shared(folder, deployer.shared_files(entries))
    try:
        learnt["inputs"] = _inputs(slug, learnt, entries, hubs)
    except (UpstreamMissing, deployer.BuildError) as exc:
        report.problems.append(f"{paths.cluster_folder(slug)}: inputs not learnt: {exc}")
    return learnt


def _inputs(
    slug: str, learnt: dict[str, Any], entries: list[dict[str, Any]], hubs: dict[str, Rendered]
) -> list[dict[str, Any]]:
    up = upstream(str(upstream_dir()))
    cluster = deployer.ClusterValues.from_conventions(slug, learnt)
    by_name = {str(e.get("name")): e for e in entries}
    defaults = {**up.basehub_defaults, "jupyterhub": up.basehub_jupyterhub_defaults}
    own: dict[str, dict[str, Any]] = {}
    for name, rendered in hubs.items():
        chart = by_name[name].get("helm_chart") or cluster.helm_chart
        wraps = deployer.chart(up.charts_dir, str(chart)).wraps
        merged: dict[str, Any] = {}
        for text in rendered.files.values():
            try:
                values = deployer.parse_values(text)
            except deployer.BuildError:
                continue  # reported when the hub was read
            merged = deployer.merge_files(merged, deployer.unwrap(values, wraps)[0])
        own[name] = merged

    def layers(name: str) -> list[tuple[str, Any]]:
        built = deployer.build(up.charts_dir, cluster, by_name[name], {})
        return [(DEFAULTS, defaults), *built.layers]

    return learn_inputs(own, layers, provider=cluster.provider)


def _import_cluster(
    slug: str,
    folder: Path,
    data: dict[str, Any],
    target: DeployTarget | None,
    report: Report,
) -> None:
    if not DNS_LABEL.match(slug) or len(slug) > 63:
        report.problems.append(
            f"{paths.cluster_folder(slug)}: the folder name is not a cluster slug"
        )
        return
    entries = [e for e in data.get("hubs") or [] if isinstance(e, dict)]
    hubs: dict[str, tuple[dict[str, Any], Rendered]] = {}
    for number, entry in enumerate(entries):
        name = entry.get("name")
        where = f"{paths.cluster_file_path(slug)} hubs[{number}]"
        if not isinstance(name, str) or not DNS_LABEL.match(name) or len(name) > 63:
            report.problems.append(f"{where}: {name!r} is not a hub name (a DNS-1123 label)")
            continue
        if name in hubs:
            report.problems.append(f"{where}: {name} is listed twice; kept the first")
            continue
        hubs[name] = (entry, _read_hub(slug, folder, entry, report))
    learnt = learn(slug, folder, data, entries, {n: r for n, (_, r) in hubs.items()}, report)
    domain = base_domain(entries) or f"{slug}.invalid"
    cluster = Cluster.objects.filter(slug=slug).first()
    if cluster is None:
        cluster = Cluster.objects.create(
            slug=slug,
            name=str(data.get("name") or slug)[:100],
            provider=PROVIDERS.get(str(data.get("provider")), Cluster.Provider.KUBECONFIG),
            region=_region(data),
            base_domain=domain,
            deploy_mode=Cluster.DeployMode.GITOPS,
            deploy_target=target,
            conventions=learnt,
            imported_at=timezone.now(),
        )
        # Every offering, until an operator restricts the cluster.
        cluster.offerings.set(Offering.objects.all())
        report.clusters_created.append(slug)
        audit.record(None, cluster, "cluster.imported", after=_summary(learnt))
    else:
        before = cluster.conventions if isinstance(cluster.conventions, dict) else {}
        if before.get("inputs_edited"):
            learnt["inputs"] = before.get("inputs", [])  # an operator's list wins
        cluster.conventions = {**before, **learnt}
        cluster.provider = PROVIDERS.get(str(data.get("provider")), cluster.provider)
        cluster.region = _region(data) or cluster.region
        cluster.imported_at = timezone.now()
        if target is not None:
            cluster.deploy_target = target
        cluster.save()
        report.clusters_updated.append(slug)
    needs = ", ".join(f"{i['key']} ({i['type']})" for i in learnt.get("inputs", []))
    report.learnt.append(
        f"{slug}: {learnt['helm_chart']} chart; a new hub needs {needs or 'no inputs'}"
    )

    live = {
        hub.name: hub
        for hub in Hub.objects.filter(cluster=cluster, state__in=HUB_LIVE).prefetch_related(
            "revisions"
        )
    }
    for name, (entry, rendered) in hubs.items():
        _import_hub(cluster, name, entry, rendered, live.get(name), report)
    for name, hub in live.items():
        if name not in hubs and hub.imported:
            hub.drift = {"summary": "no longer listed in cluster.yaml"}
            hub.drift_checked_at = timezone.now()
            hub.save(update_fields=["drift", "drift_checked_at"])
            report.drifted.append(f"{slug}/{name}: no longer listed in cluster.yaml")


def _summary(learnt: dict[str, Any]) -> dict[str, Any]:
    """The conventions for the audit trail: file names, not their text."""
    return {k: (sorted(v) if k == "shared_values" else v) for k, v in learnt.items()}


# --- hubs ----------------------------------------------------------------------------


def _read_hub(slug: str, folder: Path, entry: dict[str, Any], report: Report) -> Rendered:
    name = str(entry["name"])
    files: dict[str, str] = {}
    for relative in paths.hub_own_files(slug, name, entry):
        if paths.is_secret_file(relative):
            continue
        path = folder / posixpath.basename(relative)
        try:
            text = path.read_text()
        except FileNotFoundError:
            report.problems.append(f"{relative}: listed for {name} but missing")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            report.problems.append(f"{relative}: {_first_line(exc)}")
            continue
        try:
            cluster_yaml.load(text)
        except yaml.YAMLError as exc:
            report.problems.append(f"{relative}: not valid YAML: {_first_line(exc)}")
        files[relative] = text
    return Rendered(layout="2i2c", files=files, cluster_entry=_plain(entry))


def _plain(value: Any) -> Any:
    """JSON-able data (dates and the like become strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def spec_from(cluster: str, entry: dict[str, Any], rendered: Rendered) -> dict[str, Any]:
    """The parts of a hub spec an existing hub's files say plainly (a partial spec)."""
    spec: dict[str, Any] = {"name": entry["name"], "cluster": cluster}
    for key in ("display_name", "domain"):
        if isinstance(entry.get(key), str):
            spec[key] = entry[key]
    for text in rendered.files.values():
        try:
            values = cluster_yaml.load(text) or {}
        except yaml.YAMLError:
            continue
        config = dig(values, "jupyterhub", "hub", "config") or {}
        named = str(dig(config, "JupyterHub", "authenticator_class"))
        provider = PROVIDER_OF_CLASS.get(CLASS_OF.get(named, named))
        if provider:
            spec["auth"] = {"provider": provider}
            orgs = dig(config, "GitHubOAuthenticator", "allowed_organizations")
            if provider == "github" and isinstance(orgs, list):
                spec["auth"]["github"] = {"organizations": [str(o) for o in orgs]}
        admins = dig(config, "Authenticator", "admin_users")
        if isinstance(admins, list):
            spec["admins"] = [str(a) for a in admins]
        org = dig(values, "jupyterhub", "custom", "homepage", "templateVars", "org")
        if isinstance(org, dict) and isinstance(org.get("name"), str):
            spec["community"] = {"name": org["name"]}
            if isinstance(org.get("url"), str):
                spec["community"]["url"] = org["url"]
    return spec


def _import_hub(
    cluster: Cluster,
    name: str,
    entry: dict[str, Any],
    rendered: Rendered,
    hub: Hub | None,
    report: Report,
) -> None:
    label = f"{cluster.slug}/{name}"
    domain = str(entry.get("domain") or cluster.hub_domain(name))[:253]
    display_name = str(entry.get("display_name") or "")[:100]
    spec = spec_from(cluster.slug, entry, rendered)
    now = timezone.now()
    if hub is None:
        lifecycle.adopt_hub(
            cluster,
            name,
            spec=spec,
            files=rendered.to_json(),
            display_name=display_name,
            domain=domain,
        )
        report.hubs_created.append(label)
        return
    current = next((r for r in hub.revisions.all() if r.number == hub.current_revision), None)
    recorded = Rendered.from_json(current.files) if current and current.files else None
    changed = recorded is None or bool(differences(recorded, rendered.files, entry))
    if not changed:
        if hub.drift:
            hub.drift, hub.drift_checked_at = {}, now
            hub.save(update_fields=["drift", "drift_checked_at"])
        report.hubs_unchanged.append(label)
        return
    if not hub.imported:
        # The portal made this hub: the repository disagreeing is drift, not news.
        found = differences(recorded, rendered.files, entry) if recorded else ["no revision"]
        hub.drift = {"summary": "; ".join(found), "differences": found}
        hub.drift_checked_at = now
        hub.save(update_fields=["drift", "drift_checked_at"])
        report.drifted.append(f"{label}: {'; '.join(found)}")
        return
    revisions.record(
        hub,
        spec=spec,
        files=rendered.to_json(),
        author=None,
        reason="re-imported",
        fields={
            "display_name": display_name,
            "domain": domain,
            "drift": {},
            "drift_checked_at": now,
        },
    )
    report.hubs_updated.append(label)
