"""GitHub (and GitHub Enterprise Server, via forge_api_url) through PyGithub.

REST shapes: https://docs.github.com/en/rest/pulls/pulls
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import requests
from django.conf import settings
from github import Auth, Github, GithubException, RateLimitExceededException
from github.PullRequest import PullRequest as GitHubPull

from provisioning.deploy.forges.base import Forge, ForgeError, PullRequest, status_error

T = TypeVar("T")
PUBLIC_API = "https://api.github.com"


def _error(what: str, exc: GithubException) -> ForgeError:
    if isinstance(exc, RateLimitExceededException):
        # A 403 that is a rate limit passes with time.
        return ForgeError(f"{what}: GitHub's rate limit; will try again.", permanent=False)
    message = str(exc.data.get("message", "")) if isinstance(exc.data, dict) else str(exc)
    return status_error(what, exc.status, message)


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except GithubException as exc:
        raise _error(what, exc) from exc
    except requests.RequestException as exc:
        raise ForgeError(f"{what}: {type(exc).__name__}; will try again.", permanent=False) from exc


class GitHub(Forge):
    name = "github"

    @cached_property
    def auth(self) -> Auth.Auth:
        target = self.target
        if target.github_app_id and target.github_app_installation_id:
            return Auth.AppAuth(
                int(target.github_app_id), target.github_app_private_key
            ).get_installation_auth(int(target.github_app_installation_id))
        if not target.token:
            raise ForgeError(
                f"Deploy target {target.name!r} has no GitHub token or GitHub App configured.",
                permanent=True,
            )
        return Auth.Token(target.token)

    @cached_property
    def client(self) -> Github:
        # No retries inside PyGithub: the deployment task retries with backoff.
        return Github(
            auth=self.auth,
            base_url=(self.target.forge_api_url or PUBLIC_API).rstrip("/"),
            timeout=settings.PORTAL_FORGE_TIMEOUT,
            retry=None,
            lazy=True,
        )

    @property
    def repository(self) -> Any:
        if "/" not in self.target.forge_repository:
            raise ForgeError(
                f"Deploy target {self.target.name!r}: forge_repository must be owner/name.",
                permanent=True,
            )
        # The client is lazy: no request until one is needed.
        return self.client.get_repo(self.target.forge_repository)

    def git_credentials(self) -> tuple[str, str]:
        auth = self.auth
        self.client  # noqa: B018 - binds the auth to a requester, for an app's token
        token = _call("Getting a GitHub token", lambda: auth.token)
        return "x-access-token", token

    def open_or_update(self, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        repo = self.repository
        owner = self.target.forge_repository.split("/")[0]

        def find() -> GitHubPull | None:
            pulls = repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base)
            return next(iter(pulls), None)

        existing = _call("Looking for the pull request", find)
        if existing is None:
            try:
                created = repo.create_pull(base=base, head=branch, title=title, body=body)
                return self._pull(created, "open")
            except GithubException as exc:
                # 422 "A pull request already exists": another worker won the race.
                if exc.status != 422:
                    raise _error("Opening the pull request", exc) from exc
                existing = _call("Looking for the pull request", find)
                if existing is None:
                    raise _error("Opening the pull request", exc) from exc
            except requests.RequestException as exc:
                raise ForgeError(
                    f"Opening the pull request: {type(exc).__name__}; will try again.",
                    permanent=False,
                ) from exc
        if existing.title != title or (existing.body or "") != body:
            pull = existing
            _call("Updating the pull request", lambda: pull.edit(title=title, body=body))
        return self._pull(existing, "open")

    def get(self, number: int) -> PullRequest:
        pull = _call("Reading the pull request", lambda: self.repository.get_pull(number))
        return self._pull(pull)

    def changed_files(self, number: int) -> list[str]:
        def files() -> list[str]:
            return [f.filename for f in self.repository.get_pull(number).get_files()]

        return _call("Listing the pull request's files", files)

    def close(self, number: int, *, comment: str) -> None:
        pull = _call("Reading the pull request", lambda: self.repository.get_pull(number))
        _call("Commenting on the pull request", lambda: pull.create_issue_comment(comment))
        _call("Closing the pull request", lambda: pull.edit(state="closed"))

    @staticmethod
    def _pull(pull: GitHubPull, state: str = "") -> PullRequest:
        # A listed pull request lacks `merged`; asking for it would cost a request.
        if state:
            pass
        elif pull.merged:
            state = "merged"
        elif pull.state == "closed":
            state = "closed"
        else:
            state = "open"
        return PullRequest(
            number=pull.number,
            url=pull.html_url,
            state=state,
            merge_commit=pull.merge_commit_sha or "" if state == "merged" else "",
        )
