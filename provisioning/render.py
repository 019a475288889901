"""HubSpec -> files. Pure: no database, no network (see provisioning/validate.py).

CONTRACT (being implemented): render(spec, context, layout) -> Rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

LAYOUTS = ("2i2c", "z2jh")


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs from the catalog, as plain values (no models)."""

    cluster: str  # cluster slug (folder name under config/clusters/)
    domain: str  # the hub's domain
    image_reference: str  # "registry/name:tag"
    offering: str  # offering slug
    template_set: str  # folder under the templates; "" = the offering slug, then "default"
    cpu_guarantee: Decimal
    cpu_limit: Decimal
    mem_guarantee: str
    mem_limit: str
    storage_capacity: str
    cull_timeout: int
    cull_max_age: int
    dask_gateway: bool = False
    gpu: bool = False
    shared_directory: bool = False
    # 2i2c layout conventions learnt from the cluster (Cluster.conventions)
    helm_chart: str = "basehub"
    shared_values_files: tuple[str, ...] = ("common.values.yaml",)
    secret_values_file: str = "enc-{hub}.secret.values.yaml"  # noqa: S105 - a file name
    # the Kubernetes Secret the z2jh layout's hub.extraEnv refers to
    secret_name: str = "hub-portal-secrets"  # noqa: S105 - a Secret object name
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    """Files rendered for one hub: {repository-relative path: text}.

    2i2c layout: {"config/clusters/<cluster>/<hub>.values.yaml": ...} plus
    `cluster_entry`, the hub's item for cluster.yaml's `hubs:` list.
    z2jh layout: {"values.yaml": ...} and no cluster entry.
    """

    layout: str
    files: dict[str, str]
    cluster_entry: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """For HubRevision.files."""
        return {"layout": self.layout, "files": self.files, "cluster_entry": self.cluster_entry}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        return cls(
            layout=data["layout"],
            files=dict(data["files"]),
            cluster_entry=data.get("cluster_entry"),
        )
