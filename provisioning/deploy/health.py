"""Whether a hub answers: GET <hub url>/hub/health, 200 (JupyterHub's health endpoint).

Used after a GitOps merge where the cluster names where its hubs are reached
(Cluster.wait_for_health), and by the helm backend's readiness check: "active" means
deployed, not merely merged. Where a hub answers is Hub.address.
"""

from __future__ import annotations

import requests

TIMEOUT = 10


def health_url(address: str) -> str:
    """JupyterHub's health endpoint of the hub at `address` (Hub.address)."""
    return address.rstrip("/") + "/hub/health"


def answers(url: str) -> tuple[bool, str]:
    """(True, "") when `url` answers 200; else False and what happened instead."""
    try:
        # The hub's own address, from the operators' template; no redirects followed.
        response = requests.get(url, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return False, f"{type(exc).__name__}"
    if response.status_code == 200:
        return True, ""
    return False, f"answered {response.status_code}"
