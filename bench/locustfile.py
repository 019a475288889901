"""The load bench's users (bench/load.py starts gunicorn and runs this headless).

Leads browse their pages, read the API and create and submit requests;
reviewers work the queue and approve through the API. Credentials come from
the file bench/load.py wrote when it seeded the database (BENCH_USERS).
"""

from __future__ import annotations

import itertools
import json
import os
from http.cookiejar import Cookie
from urllib.parse import urlparse

from load import spec  # bench/load.py (locust puts bench/ on the path)
from locust import FastHttpUser, between, task

USERS = json.loads(open(os.environ["BENCH_USERS"]).read())  # noqa: SIM115
_leads = itertools.count()
_reviewers = itertools.count()


def session_cookie(host: str, key: str) -> Cookie:
    domain = urlparse(host).hostname or "127.0.0.1"
    return Cookie(
        0, "sessionid", key, None, False, domain, False, False, "/", True, False, None, True,
        None, None, {},
    )  # fmt: skip


class Person(FastHttpUser):
    abstract = True
    # People read a page before the next click: 2-5 s between requests each.
    wait_time = between(2.0, 5.0)
    kind = ""

    def on_start(self) -> None:
        pool = USERS[self.kind]
        counter = _leads if self.kind == "leads" else _reviewers
        self.me = pool[next(counter) % len(pool)]
        self.api = {"Authorization": f"Token {self.me['token']}"}
        # Signed in already: the seed made this user's session (see bench/load.py).
        self.client.cookiejar.set_cookie(session_cookie(self.host or "", self.me["session"]))


class Lead(Person):
    weight = 4
    kind = "leads"
    made = 0

    @task(3)
    def home(self) -> None:
        self.client.get("/", name="/ (home)")

    @task(2)
    def hub_list(self) -> None:
        self.client.get("/hubs/", name="/hubs/")

    @task(2)
    def request_page(self) -> None:
        self.client.get(f"/requests/{self.me['request']}/", name="/requests/[id]/")

    @task(3)
    def api_requests(self) -> None:
        self.client.get(
            "/api/v1/requests/?page_size=20", headers=self.api, name="GET /api/v1/requests/"
        )

    @task(1)
    def api_catalog(self) -> None:
        self.client.get("/api/v1/offerings/", headers=self.api, name="GET /api/v1/offerings/")

    @task(1)
    def create_request(self) -> None:
        self.made += 1
        name = f"{self.me['username']}-{self.made}-{os.getpid() % 1000}"
        body = {**spec(name), "submit": True}
        self.client.post(
            "/api/v1/requests/", json=body, headers=self.api, name="POST /api/v1/requests/"
        )


class Reviewer(Person):
    weight = 1
    kind = "reviewers"

    @task(2)
    def queue(self) -> None:
        self.client.get("/review/", name="/review/")

    @task(2)
    def approve_one(self) -> None:
        waiting = self.client.get(
            "/api/v1/requests/?state=submitted&page_size=5", headers=self.api,
            name="GET /api/v1/requests/?state=submitted",
        )  # fmt: skip
        results = waiting.json().get("results", []) if waiting.status_code == 200 else []
        if not results:
            return
        request = results[hash(self.me["username"]) % len(results)]
        with self.client.post(
            f"/api/v1/requests/{request['id']}/approve/", json={"comment": "Looks good."},
            headers=self.api, name="POST /api/v1/requests/[id]/approve/", catch_response=True,
        ) as response:  # fmt: skip
            # Another reviewer approving the same request first is a race, not an error.
            if response.status_code == 409:
                response.success()
