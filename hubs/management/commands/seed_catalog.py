"""Create the default catalog; run again, it adds what is missing and changes nothing else."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from hubs import catalog
from hubs.models import Cluster, Offering, UserImage


class Command(BaseCommand):
    help = "Create the default clusters, offering tiers and images (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        clusters = {}
        for data in catalog.CLUSTERS:
            cluster, new = Cluster.objects.get_or_create(slug=data["slug"], defaults=data)
            clusters[cluster.slug] = cluster
            created += new
        for data in catalog.OFFERINGS:
            offering, new = Offering.objects.get_or_create(slug=data["slug"], defaults=data)
            if new:
                offering.clusters.set(
                    [clusters[s] for s in catalog.PLACEMENT[offering.slug] if s in clusters]
                )
            created += new
        for data in catalog.IMAGES:
            created += UserImage.objects.get_or_create(slug=data["slug"], defaults=data)[1]
        self.stdout.write(f"Catalog ready ({created} entries created).")
