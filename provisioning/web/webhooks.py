"""Forge webhooks: a pull request was merged or closed.

Each deploy target has its own URL and secret. GitHub signs the raw body
(X-Hub-Signature-256: HMAC-SHA256 with the secret,
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries);
GitLab sends the secret itself (X-Gitlab-Token,
https://docs.gitlab.com/user/project/integrations/webhooks/). Anything not
signed by the target's secret is refused with 403 before the body is read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hubs.states import DeploymentState, IllegalTransition
from provisioning import deployments
from provisioning.models import Deployment, DeployTarget

logger = logging.getLogger(__name__)


def _refuse(why: str) -> JsonResponse:
    return JsonResponse({"detail": why}, status=403)


def _payload(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def github_signature_ok(secret: str, body: bytes, header: str) -> bool:
    if not secret or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def _finish(target: DeployTarget, branch: str, merged: bool, number: int | None) -> int:
    """Finish the deployments waiting on `branch` of `target`; how many moved."""
    waiting = Deployment.objects.filter(
        hub__cluster__deploy_target=target,
        branch=branch,
        state=DeploymentState.AWAITING_MERGE,
    ).select_related("hub")
    if number is not None:
        waiting = waiting.filter(Q(pr_number=number) | Q(pr_number__isnull=True))
    moved = 0
    for deployment in waiting:
        try:
            if merged:
                deployments.note_merged_credentials(deployment)
                deployments.mark_merged(deployment, comment="Merged (webhook).")
            else:
                deployments.mark_failed(deployment, deployments.closed_message(deployment))
            moved += 1
        except IllegalTransition:
            continue  # the poller got there first
    return moved


@csrf_exempt
@require_POST
def github(request: HttpRequest, target_id: int) -> JsonResponse:
    target = get_object_or_404(DeployTarget, pk=target_id)
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not github_signature_ok(target.webhook_secret, request.body, signature):
        return _refuse("The X-Hub-Signature-256 signature is missing or wrong.")
    event = request.headers.get("X-GitHub-Event", "")
    data = _payload(request)
    if data is None:
        return JsonResponse({"detail": "The body is not a JSON object."}, status=400)
    if event == "ping":
        return JsonResponse({"detail": "pong"})
    if event != "pull_request" or data.get("action") != "closed":
        return JsonResponse({"detail": "ignored", "updated": 0})
    pull = data.get("pull_request") or {}
    repository = (data.get("repository") or {}).get("full_name", "")
    if target.forge_repository and repository.lower() != target.forge_repository.lower():
        return JsonResponse({"detail": "another repository; ignored", "updated": 0})
    branch = str((pull.get("head") or {}).get("ref", ""))
    number = pull.get("number")
    moved = _finish(
        target, branch, bool(pull.get("merged")), number if isinstance(number, int) else None
    )
    return JsonResponse({"detail": "ok", "updated": moved})


@csrf_exempt
@require_POST
def gitlab(request: HttpRequest, target_id: int) -> JsonResponse:
    target = get_object_or_404(DeployTarget, pk=target_id)
    token = request.headers.get("X-Gitlab-Token", "")
    secret = target.webhook_secret
    if not secret or not hmac.compare_digest(token.encode(), secret.encode()):
        return _refuse("The X-Gitlab-Token header is missing or wrong.")
    data = _payload(request)
    if data is None:
        return JsonResponse({"detail": "The body is not a JSON object."}, status=400)
    if data.get("object_kind") != "merge_request":
        return JsonResponse({"detail": "ignored", "updated": 0})
    attributes = data.get("object_attributes") or {}
    state = attributes.get("state")
    if state not in ("merged", "closed"):
        return JsonResponse({"detail": "ignored", "updated": 0})
    project = (data.get("project") or {}).get("path_with_namespace", "")
    if target.forge_repository and project.lower() != target.forge_repository.lower():
        return JsonResponse({"detail": "another project; ignored", "updated": 0})
    number = attributes.get("iid")
    moved = _finish(
        target,
        str(attributes.get("source_branch", "")),
        state == "merged",
        number if isinstance(number, int) else None,
    )
    return JsonResponse({"detail": "ok", "updated": moved})
