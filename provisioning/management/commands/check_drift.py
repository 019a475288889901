"""Compare hubs with their deploy repository and record drift.

python manage.py check_drift                 # every deploy target (fresh shallow clones)
python manage.py check_drift --checkout DIR  # a local checkout instead
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.models import Hub
from provisioning.deploy.errors import DeployError
from provisioning.deploy.git import GitError
from provisioning.fleet.drift import check_checkout, check_target
from provisioning.models import DeployTarget


class Command(BaseCommand):
    help = "Record which hubs' files in the deploy repository differ from the portal's record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkout", type=Path, help="a local 2i2c-layout checkout")

    def handle(self, *args: Any, **options: Any) -> None:
        drifted: list[str] = []
        if options["checkout"]:
            if not options["checkout"].is_dir():
                raise CommandError(f"{options['checkout']} is not a folder")
            drifted = check_checkout(options["checkout"], Hub.objects.all())
        else:
            for target in DeployTarget.objects.all():
                try:
                    drifted += check_target(target)
                except (GitError, DeployError) as exc:
                    self.stderr.write(f"{target.name}: {exc}")
        for line in drifted:
            self.stdout.write(f"drift: {line}")
        self.stdout.write(f"{len(drifted)} drifted hub(s)")
