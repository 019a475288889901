"""Check that the portal can reach a helm-mode cluster and may install hubs there.

    manage.py test_cluster SLUG

Prints the server's version and, for each permission a Helm install needs
(namespaces, secrets where helm keeps its releases, the chart's objects),
whether the cluster's credentials have it. Exits non-zero when the cluster
cannot be reached or a permission is missing.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hubs.models import Cluster
from provisioning.deploy import kube
from provisioning.deploy.errors import DeployError


class Command(BaseCommand):
    help = "Check a cluster's kubeconfig: server version and the permissions helm needs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the cluster's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cluster = Cluster.objects.get(slug=options["slug"])
        except Cluster.DoesNotExist:
            raise CommandError(f"no cluster {options['slug']!r}") from None
        try:
            lines = kube.test_connection(cluster)
        except DeployError as exc:
            if exc.detail:
                self.stdout.write(exc.detail)
            raise CommandError(exc.message) from None
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"{cluster.slug}: ready for helm installs."))
