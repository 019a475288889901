"""Pull requests through the forges' REST APIs, served by a local HTTP server.

The fakes check each request against the shapes GitHub and GitLab document
(method, path, query, JSON fields, auth header) and answer like them:
https://docs.github.com/en/rest/pulls/pulls,
https://docs.gitlab.com/api/merge_requests/
"""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hubs.states import DeploymentState, HubState
from provisioning.deploy.forges import ForgeError, get_forge
from provisioning.models import Deployment, DeployTarget
from provisioning.tasks import poll_pull_requests, run_deployment
from tests.provisioning.gitops_fixtures import (
    CLOUDBANK,
    bare_repo,  # noqa: F401 - fixture
    branch_commits,
    clones,  # noqa: F401 - fixture
    make_cluster,
    make_hub,
    make_target,
    remote_branches,
)

GITHUB_TOKEN = "ghp_testtoken123"
GITLAB_TOKEN = "glpat-testtoken123"
REPO = "example-org/infrastructure"


class FakeGitHub:
    """Just enough of GitHub's pulls API, strict about what it is sent."""

    def __init__(self, server: HTTPServer, prefix: str = "/api/v3") -> None:
        self.server = server
        self.prefix = prefix
        self.pulls: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.fail_with: int | None = None
        base = f"{prefix}/repos/{REPO}/pulls"
        server.expect_request(base, method="GET").respond_with_handler(self.list_pulls)
        server.expect_request(base, method="POST").respond_with_handler(self.create_pull)
        server.expect_request(re.compile(rf"^{base}/\d+$"), method="PATCH").respond_with_handler(
            self.update_pull
        )
        server.expect_request(re.compile(rf"^{base}/\d+$"), method="GET").respond_with_handler(
            self.get_pull
        )
        # https://docs.github.com/en/rest/pulls/pulls#list-pull-requests-files
        self.files: dict[int, list[str]] = {}
        server.expect_request(
            re.compile(rf"^{base}/\d+/files$"), method="GET"
        ).respond_with_handler(self.list_files)
        # https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
        self.comments: list[tuple[int, str]] = []
        server.expect_request(
            re.compile(rf"^{prefix}/repos/{REPO}/issues/\d+/comments$"), method="POST"
        ).respond_with_handler(self.create_comment)

    def list_files(self, request: Request) -> Response:
        if (failed := self._auth(request)) is not None:
            return failed
        number = int(request.path.split("/")[-2])
        return self._json(
            [{"filename": path, "status": "added"} for path in self.files.get(number, [])]
        )

    def create_comment(self, request: Request) -> Response:
        if (failed := self._auth(request)) is not None:
            return failed
        body = request.get_json()
        assert set(body) == {"body"} and isinstance(body["body"], str)
        number = int(request.path.split("/")[-2])
        self.comments.append((number, body["body"]))
        return self._json({"id": len(self.comments), "body": body["body"]}, 201)

    def _auth(self, request: Request) -> Response | None:
        self.calls.append((request.method, request.path))
        if self.fail_with:
            return Response(
                json.dumps({"message": "Bad credentials" if self.fail_with == 401 else "oops"}),
                status=self.fail_with,
                content_type="application/json",
            )
        assert request.headers.get("Authorization") == f"token {GITHUB_TOKEN}"
        accept = request.headers.get("Accept") or "*/*"
        assert "application/vnd.github" in accept or accept == "*/*"
        return None

    def _json(self, data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _pull(self, number: int) -> dict[str, Any]:
        return next(p for p in self.pulls if p["number"] == number)

    def list_pulls(self, request: Request) -> Response:
        if (failed := self._auth(request)) is not None:
            return failed
        args = request.args
        assert args["state"] == "open"
        owner = REPO.split("/")[0]
        assert args["head"].startswith(f"{owner}:hub/")
        head = args["head"].split(":", 1)[1]
        found = [
            p
            for p in self.pulls
            if p["head"]["ref"] == head
            and p["state"] == "open"
            and p["base"]["ref"] == args["base"]
        ]
        return self._json(found)

    def create_pull(self, request: Request) -> Response:
        if (failed := self._auth(request)) is not None:
            return failed
        body = request.get_json()
        assert set(body) <= {"title", "head", "base", "body", "draft", "maintainer_can_modify"}
        assert isinstance(body["title"], str) and body["title"]
        assert isinstance(body["head"], str) and body["head"].startswith("hub/")
        assert body["base"] == "main"
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in self.pulls):
            error = {"message": f"A pull request already exists for {body['head']}."}
            return self._json({"message": "Validation Failed", "errors": [error]}, 422)
        number = len(self.pulls) + 1
        url = (
            f"http://{self.server.host}:{self.server.port}{self.prefix}/repos/{REPO}/pulls/{number}"
        )
        pull = {
            "number": number,
            "url": url,
            "issue_url": url.replace("/pulls/", "/issues/"),
            "html_url": f"https://github.example.org/{REPO}/pull/{number}",
            "state": "open",
            "title": body["title"],
            "body": body.get("body"),
            "merged": False,
            "merge_commit_sha": None,
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
        }
        self.pulls.append(pull)
        return self._json(pull, 201)

    def update_pull(self, request: Request) -> Response:
        if (failed := self._auth(request)) is not None:
            return failed
        body = request.get_json()
        assert set(body) <= {"title", "body", "state", "base", "maintainer_can_modify"}
        pull = self._pull(int(request.path.rsplit("/", 1)[1]))
        pull.update(body)
        return self._json(pull)

    def get_pull(self, request: Request) -> Response:
        if (failed := self._auth(request)) is not None:
            return failed
        return self._json(self._pull(int(request.path.rsplit("/", 1)[1])))

    def posts(self) -> int:
        return sum(1 for method, _ in self.calls if method == "POST")


class FakeGitLab:
    """Just enough of GitLab's merge requests API."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.requests: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        # Werkzeug decodes %2F in the path; the project path arrives as two segments.
        base = f"/api/v4/projects/{REPO}/merge_requests"
        server.expect_request(base, method="GET").respond_with_handler(self.list_requests)
        server.expect_request(base, method="POST").respond_with_handler(self.create_request)
        server.expect_request(re.compile(rf"^{base}/\d+$"), method="PUT").respond_with_handler(
            self.update_request
        )
        server.expect_request(re.compile(rf"^{base}/\d+$"), method="GET").respond_with_handler(
            self.get_request
        )
        # https://docs.gitlab.com/api/merge_requests/#get-single-merge-request-changes
        self.files: dict[int, list[str]] = {}
        server.expect_request(
            re.compile(rf"^{base}/\d+/changes$"), method="GET"
        ).respond_with_handler(self.get_changes)
        # https://docs.gitlab.com/api/notes/#create-new-merge-request-note
        self.notes: list[tuple[int, str]] = []
        server.expect_request(
            re.compile(rf"^{base}/\d+/notes$"), method="POST"
        ).respond_with_handler(self.create_note)

    def get_changes(self, request: Request) -> Response:
        self._check(request)
        iid = int(request.path.split("/")[-2])
        merge_request = next(r for r in self.requests if r["iid"] == iid)
        changes = [
            {"old_path": path, "new_path": path, "new_file": True}
            for path in self.files.get(iid, [])
        ]
        return self._json({**merge_request, "changes": changes})

    def create_note(self, request: Request) -> Response:
        self._check(request)
        body = request.get_json()
        assert set(body) == {"body"}
        iid = int(request.path.split("/")[-2])
        self.notes.append((iid, body["body"]))
        return self._json({"id": len(self.notes), "body": body["body"]}, 201)

    def _check(self, request: Request) -> None:
        self.calls.append((request.method, request.path))
        assert request.headers.get("PRIVATE-TOKEN") == GITLAB_TOKEN
        # The project path is URL-encoded as one segment, as GitLab requires.
        raw = request.environ.get("REQUEST_URI") or request.environ["RAW_URI"]
        assert "/projects/example-org%2Finfrastructure/" in raw

    def _json(self, data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def list_requests(self, request: Request) -> Response:
        self._check(request)
        args = request.args
        assert args["state"] == "opened"
        found = [
            r
            for r in self.requests
            if r["source_branch"] == args["source_branch"]
            and r["target_branch"] == args["target_branch"]
            and r["state"] == "opened"
        ]
        return self._json(found)

    def create_request(self, request: Request) -> Response:
        self._check(request)
        body = request.get_json()
        assert {"source_branch", "target_branch", "title"} <= set(body)
        assert set(body) <= {
            "source_branch", "target_branch", "title", "description", "remove_source_branch",
            "assignee_id", "labels", "squash",
        }  # fmt: skip
        iid = len(self.requests) + 1
        merge_request = {
            "id": 1000 + iid,
            "iid": iid,
            "project_id": 42,
            "state": "opened",
            "title": body["title"],
            "description": body.get("description"),
            "source_branch": body["source_branch"],
            "target_branch": body["target_branch"],
            "web_url": f"https://gitlab.example.org/{REPO}/-/merge_requests/{iid}",
            "merge_commit_sha": None,
            "remove_source_branch": body.get("remove_source_branch"),
        }
        self.requests.append(merge_request)
        return self._json(merge_request, 201)

    def update_request(self, request: Request) -> Response:
        self._check(request)
        body = request.get_json()
        assert set(body) <= {"title", "description", "state_event", "target_branch"}
        iid = int(request.path.rsplit("/", 1)[1])
        merge_request = next(r for r in self.requests if r["iid"] == iid)
        event = body.pop("state_event", None)
        assert event in (None, "close", "reopen")
        if event == "close":
            merge_request["state"] = "closed"
        merge_request.update(body)
        return self._json(merge_request)

    def get_request(self, request: Request) -> Response:
        self._check(request)
        iid = int(request.path.rsplit("/", 1)[1])
        return self._json(next(r for r in self.requests if r["iid"] == iid))


def github_target(bare: Path, server: HTTPServer) -> DeployTarget:
    return make_target(
        bare,
        forge=DeployTarget.Forge.GITHUB,
        forge_api_url=server.url_for("/api/v3"),
        forge_repository=REPO,
        token=GITHUB_TOKEN,
    )


def gitlab_target(bare: Path, server: HTTPServer) -> DeployTarget:
    return make_target(
        bare,
        forge=DeployTarget.Forge.GITLAB,
        forge_api_url=server.url_for("/"),
        forge_repository=REPO,
        token=GITLAB_TOKEN,
    )


# --- the forge clients on their own ----------------------------------------


def test_it_opens_a_github_pull_request_once(db: None, httpserver: HTTPServer) -> None:
    fake = FakeGitHub(httpserver)
    target = DeployTarget.objects.create(
        name="gh",
        repo_url="https://github.example.org/x.git",
        forge=DeployTarget.Forge.GITHUB,
        forge_api_url=httpserver.url_for("/api/v3"),
        forge_repository=REPO,
        token=GITHUB_TOKEN,
    )
    forge = get_forge(target)
    assert forge is not None
    first = forge.open_or_update(branch="hub/c/h/r1", base="main", title="Add h", body="one")
    again = forge.open_or_update(branch="hub/c/h/r1", base="main", title="Add h", body="two")
    assert first.number == again.number == 1
    assert first.url == "https://github.example.org/example-org/infrastructure/pull/1"
    assert fake.posts() == 1
    assert ("PATCH", "/api/v3/repos/example-org/infrastructure/pulls/1") in fake.calls
    assert fake.pulls[0]["body"] == "two"
    assert forge.get(1).state == "open"
    fake.pulls[0].update(state="closed", merged=True, merge_commit_sha="abc123")
    merged = forge.get(1)
    assert (merged.state, merged.merge_commit) == ("merged", "abc123")
    httpserver.check_assertions()


def test_it_classifies_github_errors(db: None, httpserver: HTTPServer) -> None:
    fake = FakeGitHub(httpserver)
    target = DeployTarget.objects.create(
        name="gh",
        repo_url="https://github.example.org/x.git",
        forge=DeployTarget.Forge.GITHUB,
        forge_api_url=httpserver.url_for("/api/v3"),
        forge_repository=REPO,
        token=GITHUB_TOKEN,
    )
    forge = get_forge(target)
    assert forge is not None
    expected = {401: True, 403: True, 404: True, 500: False, 502: False, 503: False}
    for status, permanent in expected.items():
        fake.fail_with = status
        with pytest.raises(ForgeError) as caught:
            forge.open_or_update(branch="hub/c/h/r1", base="main", title="t", body="b")
        assert caught.value.permanent is permanent, status
        if status == 401:
            assert "token" in caught.value.message


def test_it_opens_a_gitlab_merge_request_once(db: None, httpserver: HTTPServer) -> None:
    fake = FakeGitLab(httpserver)
    target = DeployTarget.objects.create(
        name="gl",
        repo_url="https://gitlab.example.org/x.git",
        forge=DeployTarget.Forge.GITLAB,
        forge_api_url=httpserver.url_for("/"),
        forge_repository=REPO,
        token=GITLAB_TOKEN,
    )
    forge = get_forge(target)
    assert forge is not None
    first = forge.open_or_update(branch="hub/c/h/r1", base="main", title="Add h", body="one")
    again = forge.open_or_update(branch="hub/c/h/r1", base="main", title="Add h", body="two")
    assert first.number == again.number == 1
    assert first.url.endswith("/-/merge_requests/1")
    assert sum(1 for method, _ in fake.calls if method == "POST") == 1
    assert fake.requests[0]["description"] == "two"
    assert fake.requests[0]["remove_source_branch"] is True
    fake.requests[0]["state"] = "closed"
    assert forge.get(1).state == "closed"
    httpserver.check_assertions()


# --- through a deployment ---------------------------------------------------


def test_it_proposes_a_hub_as_a_github_pull_request(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    fake = FakeGitHub(httpserver)
    cluster = make_cluster(github_target(bare_repo, httpserver))
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.AWAITING_MERGE
    assert deployment.branch == "hub/cloudbank/newhub/r1"
    assert deployment.pr_number == 1
    assert deployment.pr_url == "https://github.example.org/example-org/infrastructure/pull/1"
    assert len(branch_commits(bare_repo, deployment.branch)) == 1
    pull = fake.pulls[0]
    assert pull["head"]["ref"] == deployment.branch
    assert pull["title"] == "Add hub newhub to cloudbank (r1)"
    body = pull["body"]
    assert "alice" in body and "charlie" in body
    assert f"/hubs/{CLOUDBANK}/newhub/" in body
    assert "http://" in body or "https://" in body
    hub.refresh_from_db()
    assert hub.state == HubState.PROVISIONING

    # A merge seen by the poller finishes it.
    fake.pulls[0].update(state="closed", merged=True, merge_commit_sha="f" * 40)
    assert poll_pull_requests.delay().get() == 1
    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED
    assert hub.state == HubState.ACTIVE


def test_it_writes_user_text_into_a_pull_request_as_plain_text(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    from hubs.models import Hub

    fake = FakeGitHub(httpserver)
    cluster = make_cluster(github_target(bare_repo, httpserver))
    hub, _ = make_hub(cluster, "newhub", requester=lead, approver=reviewer, queue=False)
    Hub.objects.filter(pk=hub.pk).update(
        display_name='@org/admins **urgent** <img src="x" onerror="alert(1)"> [x](javascript:1)'
    )
    from provisioning.lifecycle import queue_deployment

    deployment = queue_deployment(hub, hub.revisions.get(number=1), by=reviewer)
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    body = fake.pulls[0]["body"]
    assert "@org" not in body  # no mention: a word joiner follows every @
    # Every Markdown or HTML character of the name is escaped with a backslash.
    assert r"\<img src\=\"x\" onerror\=\"alert\(1\)\"\>" in body
    assert r"\*\*urgent\*\*" in body and r"\[x\]\(javascript\:1\)" in body
    assert "`newhub`" in body  # the portal's own values keep their formatting


def test_it_reruns_without_a_second_pull_request(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    fake = FakeGitHub(httpserver)
    cluster = make_cluster(github_target(bare_repo, httpserver))
    _, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk)
    deployment.refresh_from_db()
    sha = deployment.commit_sha

    # The worker died after opening the pull request, before recording it.
    Deployment.objects.filter(pk=deployment.pk).update(
        state=DeploymentState.QUEUED, pr_number=None, pr_url="", commit_sha="", branch=""
    )
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    deployment.refresh_from_db()
    assert fake.posts() == 1
    assert deployment.pr_number == 1
    assert deployment.commit_sha == sha
    assert remote_branches(bare_repo) == ["hub/cloudbank/newhub/r1"]
    assert len(branch_commits(bare_repo, "hub/cloudbank/newhub/r1")) == 1


def test_it_fails_on_a_refused_token(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    fake = FakeGitHub(httpserver)
    fake.fail_with = 401
    cluster = make_cluster(github_target(bare_repo, httpserver))
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert "token was refused" in deployment.error
    assert deployment.attempts == 1
    assert hub.state == HubState.FAILED


def test_it_retries_a_forge_outage_with_backoff(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    fake = FakeGitHub(httpserver)
    fake.fail_with = 502
    cluster = make_cluster(github_target(bare_repo, httpserver))
    _, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    run_deployment.delay(deployment.pk)

    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.QUEUED
    assert deployment.attempts == 1
    assert deployment.not_before is not None and deployment.not_before > deployment.created_at
    assert "HTTP 502" in deployment.error
    assert deployment.log.filter(step="retry").exists()

    # The forge is back once the backoff has passed.
    fake.fail_with = None
    Deployment.objects.filter(pk=deployment.pk).update(not_before=deployment.created_at)
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"
    deployment.refresh_from_db()
    assert deployment.attempts == 2
    assert deployment.pr_number == 1
    assert fake.posts() == 1


def test_it_proposes_a_hub_as_a_gitlab_merge_request(
    bare_repo: Path, httpserver: HTTPServer, lead: User, reviewer: User
) -> None:
    fake = FakeGitLab(httpserver)
    cluster = make_cluster(gitlab_target(bare_repo, httpserver))
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    deployment.refresh_from_db()
    assert deployment.pr_number == 1
    assert deployment.pr_url.endswith("/-/merge_requests/1")
    merge_request = fake.requests[0]
    assert merge_request["source_branch"] == "hub/cloudbank/newhub/r1"
    assert merge_request["target_branch"] == "main"
    assert "charlie" in merge_request["description"]

    fake.requests[0]["state"] = "closed"
    assert poll_pull_requests.delay().get() == 1
    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert "closed without merging" in deployment.error
    assert hub.state == HubState.FAILED
