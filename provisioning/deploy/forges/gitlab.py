"""GitLab (gitlab.com or self-managed, via forge_api_url) through python-gitlab.

REST shapes: https://docs.gitlab.com/api/merge_requests/
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import gitlab
import requests
from django.conf import settings
from gitlab.exceptions import GitlabError

from provisioning.deploy.forges.base import Forge, ForgeError, PullRequest, status_error

T = TypeVar("T")
PUBLIC_URL = "https://gitlab.com"


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except GitlabError as exc:
        raise status_error(what, exc.response_code, str(exc.error_message)) from exc
    except requests.RequestException as exc:
        raise ForgeError(f"{what}: {type(exc).__name__}; will try again.", permanent=False) from exc


class GitLab(Forge):
    name = "gitlab"

    @cached_property
    def client(self) -> gitlab.Gitlab:
        if not self.target.token:
            raise ForgeError(
                f"Deploy target {self.target.name!r} has no GitLab token.", permanent=True
            )
        url = (self.target.forge_api_url or PUBLIC_URL).rstrip("/").removesuffix("/api/v4")
        # No retries inside python-gitlab: the deployment task retries with backoff.
        return gitlab.Gitlab(
            url,
            private_token=self.target.token,
            timeout=settings.PORTAL_FORGE_TIMEOUT,
            retry_transient_errors=False,
        )

    @property
    def project(self) -> Any:
        if not self.target.forge_repository:
            raise ForgeError(
                f"Deploy target {self.target.name!r}: forge_repository (the project path) "
                "is empty.",
                permanent=True,
            )
        # lazy: no request until one is needed
        return self.client.projects.get(self.target.forge_repository, lazy=True)

    def git_credentials(self) -> tuple[str, str]:
        return "oauth2", self.target.token

    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        project = self.project

        def find() -> Any:
            found = project.mergerequests.list(
                source_branch=branch, target_branch=base, state="opened", get_all=False
            )
            return found[0] if found else None

        existing = _call("Looking for the merge request", find)
        if existing is None:
            try:
                created = project.mergerequests.create(
                    {
                        "source_branch": branch,
                        "target_branch": base,
                        "title": title,
                        "description": body,
                        "remove_source_branch": True,
                    }
                )
                return self._pull(created)
            except GitlabError as exc:
                # 409: "Another open merge request already exists for this source branch"
                if exc.response_code != 409:
                    raise status_error(
                        "Opening the merge request", exc.response_code, str(exc.error_message)
                    ) from exc
                existing = _call("Looking for the merge request", find)
                if existing is None:
                    raise status_error(
                        "Opening the merge request", exc.response_code, str(exc.error_message)
                    ) from exc
        if existing.title != title or (existing.description or "") != body:
            existing.title = title
            existing.description = body
            _call("Updating the merge request", existing.save)
        return self._pull(existing)

    def get(self, number: int) -> PullRequest:
        request = _call("Reading the merge request", lambda: self.project.mergerequests.get(number))
        return self._pull(request)

    def changed_files(self, number: int) -> list[str]:
        def files() -> list[str]:
            changes = self.project.mergerequests.get(number).changes()
            found: list[str] = []
            for change in changes.get("changes") or []:
                for key in ("old_path", "new_path"):
                    path = str(change.get(key) or "")
                    if path and path not in found:
                        found.append(path)
            return found

        return _call("Listing the merge request's files", files)

    def close(self, number: int, *, comment: str) -> None:
        # Lazy: the project's path, not the request's numeric project id, in every URL.
        request = self.project.mergerequests.get(number, lazy=True)
        _call("Commenting on the merge request", lambda: request.notes.create({"body": comment}))
        _call(
            "Closing the merge request",
            lambda: self.project.mergerequests.update(number, {"state_event": "close"}),
        )

    @staticmethod
    def _pull(request: Any) -> PullRequest:
        state = {"opened": "open", "merged": "merged"}.get(request.state, "closed")
        if request.state == "locked":
            state = "open"
        return PullRequest(
            number=int(request.iid),
            url=str(request.web_url),
            state=state,
            merge_commit=str(getattr(request, "merge_commit_sha", "") or ""),
        )
