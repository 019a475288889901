"""Whether a hub answers: GET <hub url>/hub/health, 200 (JupyterHub's health endpoint).

Used after a GitOps merge where the cluster names where its hubs are reached
(Cluster.health_url_template): "active" means deployed, not merely merged.
"""

from __future__ import annotations

import requests

TIMEOUT = 10


def health_url(template: str, *, domain: str, hub: str) -> str:
    """`template` ({domain}, {hub}) filled in, with /hub/health."""
    return template.format(domain=domain, hub=hub).rstrip("/") + "/hub/health"


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
