"""Adopt an existing 2i2c-layout infrastructure repository.

    python manage.py import_repo CHECKOUT [--target NAME]

Reads every config/clusters/*/cluster.yaml in CHECKOUT (or */cluster.yaml
when CHECKOUT is itself a clusters folder) and records its clusters and hubs;
run again, it updates rather than duplicates. Prints what it did and, one
line each, what it could not read and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provisioning.fleet.importer import import_checkout
from provisioning.models import DeployTarget


class Command(BaseCommand):
    help = "Record the clusters and hubs of an existing 2i2c-layout checkout in the portal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("checkout", type=Path)
        parser.add_argument(
            "--target",
            help="the deploy target (by name) the imported clusters deploy through",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        checkout: Path = options["checkout"]
        if not checkout.is_dir():
            raise CommandError(f"{checkout} is not a folder")
        target = None
        if options["target"]:
            target = DeployTarget.objects.filter(name=options["target"]).first()
            if target is None:
                raise CommandError(f"there is no deploy target named {options['target']!r}")
        report = import_checkout(checkout, target=target)
        for line in report.lines():
            self.stdout.write(line)
        if not report.clusters_created and not report.clusters_updated:
            raise CommandError("nothing imported")
