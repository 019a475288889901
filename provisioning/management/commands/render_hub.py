"""Render a hub spec to files without deploying it.

    manage.py render_hub SPEC.yaml [--layout 2i2c|z2jh] [--out DIR | --into CHECKOUT]

The spec is checked like a request (hubs.validation.validate_spec, against the
catalog in the database); the files are checked against the charts' schemas.
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

from hubs.models import Hub
from hubs.spec import SpecError
from hubs.states import HUB_LIVE
from hubs.validation import validate_spec
from provisioning.layout.cluster_file import write_atomic, write_hub
from provisioning.layout.paths import LayoutError, cluster_file_path
from provisioning.render.renderer import LAYOUTS, Rendered, RenderError, context_for, render
from provisioning.render.validate import ConfigError, UpstreamMissing, validate_rendered


class Command(BaseCommand):
    help = "Render a hub spec (YAML) to its deploy files, without deploying."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("spec", type=Path, help="the hub spec, a YAML file")
        parser.add_argument(
            "--layout",
            choices=LAYOUTS,
            help="2i2c (GitOps repository) or z2jh (values.yaml); default: the cluster's mode",
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
        try:
            rendered = render(checked.spec, context_for(checked), layout)
            validate_rendered(rendered)
        except RenderError as exc:
            raise CommandError(f"rendering failed: {exc}") from None
        except ConfigError as exc:
            raise CommandError(self.problems("rendered files", exc.lines())) from None
        except UpstreamMissing as exc:
            raise CommandError(str(exc)) from None

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
