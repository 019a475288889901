"""The default catalog: what `seed_catalog` creates on a new installation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CLUSTERS: list[dict[str, Any]] = [
    {
        "slug": "gcp-us-central1",
        "name": "Shared cluster, GCP us-central1",
        "provider": "gcp",
        "region": "us-central1",
        "base_domain": "us-central1.hubs.example.org",
    },
    {
        "slug": "gcp-europe-west2",
        "name": "Shared cluster, GCP europe-west2 (London)",
        "provider": "gcp",
        "region": "europe-west2",
        "base_domain": "europe-west2.hubs.example.org",
    },
    {
        "slug": "aws-us-west2",
        "name": "Shared cluster, AWS us-west-2 (Oregon)",
        "provider": "aws",
        "region": "us-west-2",
        "base_domain": "us-west-2.hubs.example.org",
    },
]

OFFERINGS: list[dict[str, Any]] = [
    {
        "slug": "education",
        "name": "Education",
        "description": "A hub for a course or a department: small servers, shared storage, "
        "culled when idle.",
        "purposes": ["education"],
        "cpu_guarantee": Decimal("0.25"),
        "cpu_limit": Decimal("1"),
        "mem_guarantee": "1G",
        "mem_limit": "2G",
        "storage_capacity": "10Gi",
        "cull_timeout": 3600,
        "shared_directory": True,
        "max_users": 500,
        "monthly_fee": Decimal("250"),
        "allow_custom_image": False,
        "requires_review": True,
        "resource_quota": {"requests.cpu": "100", "requests.memory": "400Gi"},
    },
    {
        "slug": "research-shared",
        "name": "Research (shared cluster)",
        "description": "A research group's hub on a shared cluster, with Dask Gateway and "
        "your own image if you need one.",
        "purposes": ["research"],
        "cpu_guarantee": Decimal("1"),
        "cpu_limit": Decimal("4"),
        "mem_guarantee": "4G",
        "mem_limit": "8G",
        "storage_capacity": "50Gi",
        "cull_timeout": 7200,
        "dask_gateway": True,
        "shared_directory": True,
        "max_users": 100,
        "monthly_fee": Decimal("500"),
        "allow_custom_image": True,
        "requires_review": True,
        "resource_quota": {"requests.cpu": "80", "requests.memory": "320Gi"},
    },
    {
        "slug": "research-dedicated",
        "name": "Research (dedicated cluster)",
        "description": "Large servers and GPUs for a research collaboration.",
        "purposes": ["research"],
        "cpu_guarantee": Decimal("2"),
        "cpu_limit": Decimal("16"),
        "mem_guarantee": "16G",
        "mem_limit": "64G",
        "storage_capacity": "100Gi",
        "cull_timeout": 14400,
        "dask_gateway": True,
        "gpu": True,
        "shared_directory": True,
        "max_users": 200,
        "monthly_fee": Decimal("2500"),
        "allow_custom_image": True,
        "requires_review": True,
    },
    {
        "slug": "events",
        "name": "Events and workshops",
        "description": "A time-boxed hub for a workshop or hackweek: pre-warmed before it "
        "starts, removed after it ends.",
        "purposes": ["event"],
        "cpu_guarantee": Decimal("0.5"),
        "cpu_limit": Decimal("2"),
        "mem_guarantee": "2G",
        "mem_limit": "4G",
        "storage_capacity": "5Gi",
        "cull_timeout": 1800,
        "cull_max_age": 28800,
        "max_users": 300,
        "monthly_fee": Decimal("0"),
        "allow_custom_image": True,
        "requires_review": True,
        "resource_quota": {"requests.cpu": "150", "requests.memory": "600Gi"},
    },
]

# Which offerings run where (dedicated research runs on the AWS cluster only).
PLACEMENT = {
    "education": ["gcp-us-central1", "gcp-europe-west2", "aws-us-west2"],
    "research-shared": ["gcp-us-central1", "gcp-europe-west2", "aws-us-west2"],
    "research-dedicated": ["aws-us-west2"],
    "events": ["gcp-us-central1", "gcp-europe-west2"],
}

IMAGES: list[dict[str, Any]] = [
    {
        "slug": "scipy-notebook",
        "name": "Jupyter SciPy",
        "reference": "quay.io/jupyter/scipy-notebook:2025-10-20",
        "description": "Python with the scientific stack: NumPy, pandas, matplotlib, SciPy.",
    },
    {
        "slug": "datascience-notebook",
        "name": "Jupyter Data Science",
        "reference": "quay.io/jupyter/datascience-notebook:2025-10-20",
        "description": "Python, R and Julia with their data science libraries.",
    },
    {
        "slug": "pangeo-notebook",
        "name": "Pangeo",
        "reference": "pangeo/pangeo-notebook:2025.10.06",
        "description": "Geoscience at scale: xarray, Dask, zarr and friends.",
    },
    {
        "slug": "rocker-geospatial",
        "name": "Rocker geospatial (RStudio)",
        "reference": "rocker/binder:4.5.1",
        "description": "R and RStudio with the tidyverse, from the Rocker project.",
    },
    {
        "slug": "minimal-notebook",
        "name": "Jupyter minimal",
        "reference": "quay.io/jupyter/minimal-notebook:2025-10-20",
        "description": "A small Python image to start from.",
    },
]
