"""Just enough of GitHub's REST API to look people up, over real HTTP (pytest-httpserver).

It answers as GitHub documents: GET /users/{username} (users and
organisations, with `type`), GET /orgs/{org}, GET /orgs/{org}/teams/{team_slug},
404 with {"message": "Not Found"}, and the rate-limit headers; once its
budget of requests is spent it answers 403 with `x-ratelimit-remaining: 0`.
https://docs.github.com/en/rest/users/users#get-a-user
https://docs.github.com/en/rest/orgs/orgs#get-an-organization
https://docs.github.com/en/rest/teams/teams#get-a-team-by-name
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "ghp_lookup_token_0123456789"
PREFIX = "/api/v3"
RESET_AT = 2_000_000_000  # the rate limit's reset, seconds since the epoch


class FakeGitHub:
    def __init__(
        self,
        server: HTTPServer,
        *,
        users: set[str] | None = None,
        orgs: dict[str, set[str]] | None = None,
        delay: float = 0.0,
        counter: Callable[[], None] | None = None,
    ) -> None:
        self.server = server
        self.users = {u.lower() for u in users or set()}
        self.orgs = {o.lower(): {t.lower() for t in teams} for o, teams in (orgs or {}).items()}
        self.delay = delay
        self.counter = counter  # called for each request (e.g. across processes)
        self.remaining: int | None = None  # None: no limit
        self.fail_with: int | None = None
        self.calls: list[str] = []
        self.lock = threading.Lock()
        server.expect_request(re.compile(rf"^{PREFIX}/.*$"), method="GET").respond_with_handler(
            self.handle
        )

    @property
    def url(self) -> str:
        return self.server.url_for(PREFIX)

    def _json(self, data: Any, status: int = 200, **headers: str) -> Response:
        with self.lock:
            left = self.remaining if self.remaining is not None else 4999
        return Response(
            json.dumps(data),
            status=status,
            content_type="application/json; charset=utf-8",
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": str(max(left, 0)),
                "x-ratelimit-reset": str(RESET_AT),
                **headers,
            },
        )

    def handle(self, request: Request) -> Response:
        assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
        assert request.headers.get("Accept") == "application/vnd.github+json"
        if self.counter is not None:
            self.counter()
        with self.lock:
            self.calls.append(request.path)
            if self.remaining is not None:
                if self.remaining <= 0:
                    limited = True
                else:
                    self.remaining -= 1
                    limited = False
            else:
                limited = False
        if self.delay:
            time.sleep(self.delay)
        if limited:
            return self._json(
                {"message": "API rate limit exceeded for user ID 1."},
                status=403,
            )
        if self.fail_with:
            return self._json({"message": "Server Error"}, status=self.fail_with)
        parts = request.path[len(PREFIX) :].strip("/").split("/")
        not_found = self._json({"message": "Not Found"}, status=404)
        if len(parts) == 2 and parts[0] == "users":
            name = parts[1].lower()
            if name in self.users:
                return self._json({"login": parts[1], "type": "User"})
            if name in self.orgs:
                return self._json({"login": parts[1], "type": "Organization"})
            return not_found
        if len(parts) == 2 and parts[0] == "orgs":
            return self._json({"login": parts[1]}) if parts[1].lower() in self.orgs else not_found
        if len(parts) == 4 and parts[0] == "orgs" and parts[2] == "teams":
            teams = self.orgs.get(parts[1].lower(), set())
            return self._json({"slug": parts[3]}) if parts[3].lower() in teams else not_found
        return not_found


def configure(settings: Any, fake: FakeGitHub) -> None:
    """Point the portal's GitHub lookups at `fake` (pytest-django's `settings`)."""
    settings.PORTAL_GITHUB_LOOKUP_TOKEN = TOKEN
    settings.PORTAL_GITHUB_API_URL = fake.url
