"""Email about requests, per audience, sent after the change that prompted it has committed.

Who hears what (hubs/audiences.py), never the person who acted:

| what happened | requester | reviewers |
| --- | --- | --- |
| submitted | — | "waiting for review" |
| approved, rejected, changes requested | the decision and the comment | — |
| withdrawn (after submission) | — | "withdrawn" |
| a comment | yes, unless theirs | yes, unless theirs |
| each morning | — | the digest of requests waiting |

Hubs and deployments (live, failed, removed) are told from the pipeline
(provisioning/announce.py), with the same mail helper.
"""

from __future__ import annotations

from django.db.models import Count

from hubs import audiences, mail
from hubs.models import HubRequest, RequestComment
from hubs.states import RequestState

DECISIONS: dict[str, str] = {
    RequestState.APPROVED: "approved",
    RequestState.REJECTED: "rejected",
    RequestState.CHANGES_REQUESTED: "changes requested",
}


def request_changed(request_id: int, transition: str) -> None:
    """Tell whoever should hear that a request moved to `transition`."""
    request = (
        HubRequest.objects.select_related("requester", "decided_by", "offering", "cluster")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return
    comment = request.comments.filter(transition=transition).select_related("author").last()
    context = {"request": request, "transition": transition, "comment": comment}
    name = request.display_name
    if transition == RequestState.SUBMITTED:
        again = f" (submission {request.submission_count})" if request.submission_count > 1 else ""
        mail.send(
            audiences.reviewers(),
            category="review",
            template="reviewers/request_submitted",
            subject=f"To review: {name}{again}",
            context=context,
            actor=request.requester,
        )
    elif transition == RequestState.WITHDRAWN:
        mail.send(
            audiences.reviewers(),
            category="review",
            template="reviewers/request_withdrawn",
            subject=f"Withdrawn: {name}",
            context=context,
            actor=request.requester,
        )
    elif transition in DECISIONS:
        mail.send(
            audiences.requester(request),
            category="request_updates",
            template=f"requester/request_{transition}",
            subject=f"{name}: {DECISIONS[transition]}",
            context=context,
            # The portal approves requests for tiers that need no review: no actor.
            actor=request.decided_by,
        )


def request_commented(comment_id: int) -> None:
    comment = (
        RequestComment.objects.select_related("request__requester", "author")
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        return
    request = comment.request
    context = {"request": request, "comment": comment}
    # mail.send puts every subject on one line (portal.text.one_line).
    subject = f"New comment on {request.display_name}"  # nosemgrep: portal-user-text-in-commit
    mail.send(
        audiences.requester(request),
        category="comments",
        template="requester/request_commented",
        subject=subject,
        context=context,
        actor=comment.author,
    )
    requester = {request.requester_id}
    mail.send(
        [u for u in audiences.reviewers() if u.pk not in requester],
        category="comments",
        template="reviewers/request_commented",
        subject=subject,
        context=context,
        actor=comment.author,
    )


def review_digest() -> int:
    """The reviewers' daily list of requests waiting for review; the number of emails sent."""
    waiting = list(
        HubRequest.objects.filter(state=RequestState.SUBMITTED)
        .select_related("requester", "offering", "cluster")
        .order_by("submitted_at", "pk")[:50]
    )
    if not waiting:
        return 0
    total = HubRequest.objects.filter(state=RequestState.SUBMITTED).aggregate(n=Count("pk"))["n"]
    return mail.send(
        audiences.reviewers(),
        category="digest",
        template="reviewers/digest",
        subject=f"{total} request{'s' if total != 1 else ''} waiting for review",
        context={"waiting": waiting, "total": total},
    )
