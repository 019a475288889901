"""Render a hub spec to files without deploying it.

    manage.py render_hub SPEC.yaml [--layout 2i2c|z2jh] [--input KEY=VALUE ...]
                                   [--out DIR | --into CHECKOUT]

The spec is checked like a request (hubs.validation.validate_spec, against the
catalog in the database); the files are checked against the charts' schemas,
for the 2i2c layout the way 2i2c's deployer builds them: with the cluster's
shared values files as import or the last drift check read them, or as
CHECKOUT has them with --into. Encrypted files cannot be read; the command
says which it skipped.

A cluster whose hubs each need values from outside the repository (an NFS
server, a volume, buckets: its learnt inputs) takes them as repeated
`--input KEY=VALUE` with dotted keys (`--input nfs.pv.serverIP=10.0.0.5`);
without them it exits non-zero naming each missing key, and writes nothing.

With --out the files are written under DIR (their repository paths; for 2i2c
also cluster-entry.yaml, the hub's item for cluster.yaml); with --into they are
written into an existing 2i2c checkout and its cluster.yaml is edited in place,
without committing; with neither they are printed.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.models import Cluster, Hub
from hubs.spec import SpecError
from hubs.states import HUB_LIVE
from hubs.validation import validate_spec
from provisioning.fleet.drift import read_shared
from provisioning.layout import paths
from provisioning.layout.cluster_file import write_atomic, write_hub
from provisioning.layout.paths import LayoutError, cluster_file_path
from provisioning.render.deployer import shared_files
from provisioning.render.inputs import check_inputs
from provisioning.render.renderer import (
    LAYOUTS,
    Rendered,
    RenderError,
    cluster_values,
    context_for,
    render,
)
from provisioning.render.validate import (
    ConfigError,
    Report,
    UpstreamMissing,
    validate_in_checkout,
    validate_rendered,
)


class Command(BaseCommand):
    help = "Render a hub spec (YAML) to its deploy files, without deploying."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("spec", type=Path, help="the hub spec, a YAML file")
        parser.add_argument(
            "--layout",
            choices=LAYOUTS,
            help="2i2c (GitOps repository) or z2jh (values.yaml); default: the cluster's mode",
        )
        parser.add_argument(
            "--input",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a value the cluster needs per hub (its learnt inputs), e.g. "
            "nfs.pv.serverIP=10.0.0.5; repeat for each",
        )
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--out", type=Path, help="write the files under this folder")
        where.add_argument("--into", type=Path, help="edit this 2i2c checkout in place (no commit)")

    def handle(self, *args: Any, **options: Any) -> None:
        data = self.read_spec(options["spec"])
        name, cluster = (
            (data.get("name"), data.get("cluster")) if isinstance(data, dict) else ("", "")
        )
        # Rendering an existing hub's spec: its own name is not "taken".
        hub = Hub.objects.filter(name=name, cluster__slug=cluster, state__in=HUB_LIVE).first()
        try:
            checked = validate_spec(data, hub=hub)
        except SpecError as exc:
            raise CommandError(self.problems(options["spec"], exc.lines())) from None
        layout = options["layout"] or (
            "2i2c" if checked.cluster.deploy_mode == checked.cluster.DeployMode.GITOPS else "z2jh"
        )
        if options["into"] is not None and layout != "2i2c":
            raise CommandError("--into edits a 2i2c checkout: use --layout 2i2c")
        given = self.read_inputs(options["input"])
        if given and layout != "2i2c":
            raise CommandError("--input is for the 2i2c layout: use --layout 2i2c")
        inputs: dict[str, str] = {}
        if layout == "2i2c":
            try:
                inputs = check_inputs(checked.cluster.conventions, given)
            except SpecError as exc:
                raise CommandError(self.problems("the cluster's inputs", exc.lines())) from None
        try:
            rendered = render(checked.spec, context_for(checked, inputs=inputs), layout)
            report = self.validate(rendered, checked.cluster, options["into"])
        except RenderError as exc:
            raise CommandError(f"rendering failed: {exc}") from None
        except ConfigError as exc:
            raise CommandError(self.problems("rendered files", exc.lines())) from None
        except UpstreamMissing as exc:
            raise CommandError(str(exc)) from None
        for line in report.lines():
            self.stderr.write(line)

        if options["into"] is not None:
            try:
                write_hub(
                    options["into"], checked.cluster.slug, rendered.files, rendered.cluster_entry
                )
            except LayoutError as exc:
                raise CommandError(str(exc)) from None
            for path in rendered.files:
                self.stdout.write(f"wrote {path}")
            self.stdout.write(f"updated {cluster_file_path(checked.cluster.slug)}")
        elif options["out"] is not None:
            for written in self.write_out(options["out"], rendered):
                self.stdout.write(f"wrote {written}")
        else:
            for path, text in rendered.files.items():
                self.stdout.write(f"# --- {path}\n{text}", ending="")
            if rendered.cluster_entry is not None:
                entry = yaml.safe_dump([rendered.cluster_entry], sort_keys=False)
                self.stdout.write(f"# --- cluster.yaml hubs: entry\n{entry}", ending="")

    def read_inputs(self, pairs: list[str]) -> dict[str, str]:
        inputs: dict[str, str] = {}
        for pair in pairs:
            key, equals, value = pair.partition("=")
            if not equals or not key.strip():
                raise CommandError(f"--input {pair!r}: write it as KEY=VALUE")
            inputs[key.strip()] = value
        return inputs

    def validate(self, rendered: Rendered, cluster: Cluster, into: Path | None) -> Report:
        """The files checked as the deployer builds them, with the cluster's shared files."""
        if into is None or rendered.cluster_entry is None:
            return validate_rendered(rendered, cluster=cluster_values(cluster))
        folder = paths.on_disk(into, paths.cluster_folder(cluster.slug))
        if not (folder / paths.CLUSTER_FILE).exists():
            raise CommandError(
                f"{cluster_file_path(cluster.slug)} is missing: the cluster has no folder in "
                "this repository yet"
            )
        names = shared_files([rendered.cluster_entry])
        shared = {
            paths.in_cluster(cluster.slug, n): t for n, t in read_shared(folder, names).items()
        }
        return validate_in_checkout(rendered, cluster_values(cluster), shared)

    def read_spec(self, path: Path) -> Any:
        try:
            return yaml.safe_load(path.read_text())
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise CommandError(f"{path} is not valid YAML: {exc}") from None

    def problems(self, what: Any, lines: list[str]) -> str:
        return f"{what} has {len(lines)} problem(s):\n" + "\n".join(lines)

    def write_out(self, out: Path, rendered: Rendered) -> list[Path]:
        files = dict(rendered.files)
        if rendered.cluster_entry is not None:
            files["cluster-entry.yaml"] = yaml.safe_dump(rendered.cluster_entry, sort_keys=False)
        written = []
        for relative, text in files.items():
            if posixpath.normpath(relative) != relative or relative.startswith(("/", "..")):
                raise CommandError(f"refusing to write {relative!r} outside {out}")
            path = out / relative
            write_atomic(path, text)
            written.append(path)
        return written
