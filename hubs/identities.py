"""Checking a hub's names against its login provider, before anything is deployed.

- GitHub: users, organisations and `org:team` entries must exist. They are
  looked up with GitHub's REST API (an operator-configured token,
  PORTAL_GITHUB_LOOKUP_TOKEN; PORTAL_GITHUB_API_URL for GitHub Enterprise),
  a few at a time, each answer cached for PORTAL_GITHUB_LOOKUP_TTL seconds.
  A lookup that cannot be made (no token, GitHub down, its rate limit, the
  time budget spent) never blocks a change: the entry is "not verified".
- CILogon and Google: emails must be in the hub's allowed domains (pure,
  hubs/members.py).

The request form and API (on submit) and every change to a live hub call
`refuse_unknown()`; the members preview asks `lookup_users()` for its lines.
This is the one HTTP client in the domain, kept small on purpose.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter

from hubs.members import allowed_domains, domain_problem
from hubs.spec import HubSpec, SpecError

log = logging.getLogger(__name__)

CACHE_PREFIX = "github-lookup:v1:"
# (found, why): found True exists, False does not (why says so), None not verified.
Answer = tuple[bool | None, str]


@dataclass
class Lookups:
    """Answers for names, and one note for what could not be verified."""

    answers: dict[str, Answer] = field(default_factory=dict)
    note: str = ""

    def missing(self) -> dict[str, str]:
        return {name: why for name, (found, why) in self.answers.items() if found is False}

    def unverified(self) -> list[str]:
        return sorted(name for name, (found, _) in self.answers.items() if found is None)


class _Stop(Exception):
    """No further lookups: the rate limit is reached or the token was refused."""


class GitHubLookup:
    """Existence checks against GitHub's REST API, bounded in concurrency and time."""

    def __init__(self) -> None:
        self.token = str(getattr(settings, "PORTAL_GITHUB_LOOKUP_TOKEN", "") or "")
        self.api = str(settings.PORTAL_GITHUB_API_URL).rstrip("/")
        self.timeout = float(settings.PORTAL_FORGE_TIMEOUT)
        self.workers = max(1, int(settings.PORTAL_GITHUB_LOOKUP_CONCURRENCY))
        self.budget = float(settings.PORTAL_GITHUB_LOOKUP_BUDGET)
        self.ttl = int(settings.PORTAL_GITHUB_LOOKUP_TTL)
        self.local = threading.local()
        self.stopped = ""  # why lookups stopped, once they have

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount(self.api, HTTPAdapter(pool_maxsize=self.workers, max_retries=0))
            session.headers.update(
                {
                    "Authorization": f"Bearer {self.token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                    "User-Agent": "hub-portal",
                }
            )
            self.local.session = session
        return session

    def path(self, kind: str, name: str) -> str:
        if kind == "team":
            org, _, team = name.partition(":")
            return f"/orgs/{quote(org)}/teams/{quote(team)}"
        return f"/{'orgs' if kind == 'org' else 'users'}/{quote(name)}"

    def ask(self, kind: str, name: str) -> Answer:
        """One lookup; raises _Stop when no more should be made."""
        if self.stopped:
            return None, self.stopped
        try:
            response = self.session().get(self.api + self.path(kind, name), timeout=self.timeout)
        except requests.RequestException as exc:
            return None, f"GitHub could not be reached ({type(exc).__name__}); not verified"
        status = response.status_code
        if status < 400 and response.headers.get("x-ratelimit-remaining") == "0":
            # That was the last one this hour: do not spend the next ones on 403s.
            self.stopped = _rate_limit_note(response.headers)
        if status == 200:
            data = response.json() if response.content else {}
            if kind == "user" and isinstance(data, dict) and data.get("type") == "Organization":
                return False, f"{name} is a GitHub organisation, not a user"
            return True, ""
        if status == 404:
            what = {"user": "GitHub user", "org": "GitHub organisation", "team": "team"}[kind]
            if kind == "team":
                return False, f"{name}: no such team in that organisation (or it is secret)"
            return False, f"no {what} named {name}"
        limited = response.headers.get("x-ratelimit-remaining") == "0" or (
            status in (403, 429) and "retry-after" in response.headers
        )
        if status in (403, 429) and limited:
            self.stopped = _rate_limit_note(response.headers)
            raise _Stop(self.stopped)
        if status == 401:
            log.warning("GitHub refused the lookup token (401)")
            self.stopped = "GitHub refused the portal's lookup token; not verified"
            raise _Stop(self.stopped)
        return None, f"GitHub answered {status}; not verified"

    def check(self, names: Mapping[str, str]) -> Lookups:
        """{name: kind} (kind: user, org or team) → answers, from the cache where it has them."""
        result = Lookups()
        if not names:
            return result
        if not self.enabled:
            why = "no GitHub lookup token is configured; not verified"
            result.answers = dict.fromkeys(names, (None, why))
            result.note = "GitHub names are not checked: the operators have not configured a token."
            return result
        keys = {name: f"{CACHE_PREFIX}{kind}:{name.lower()}" for name, kind in names.items()}
        cached = cache.get_many(list(keys.values()))
        todo = []
        for name in names:
            hit = cached.get(keys[name])
            if hit is not None:
                result.answers[name] = (bool(hit[0]), str(hit[1]))
            else:
                todo.append(name)
        deadline = time.monotonic() + self.budget
        fresh: dict[str, Answer] = {}

        def one(name: str) -> None:
            if time.monotonic() > deadline:
                fresh[name] = (None, "the lookup took too long; not verified")
                return
            try:
                fresh[name] = self.ask(names[name], name)
            except _Stop as stop:
                fresh[name] = (None, str(stop))

        if todo:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
                list(pool.map(one, todo))
        result.answers.update(fresh)
        cache.set_many(
            {keys[n]: list(answer) for n, answer in fresh.items() if answer[0] is not None},
            timeout=self.ttl,
        )
        unverified = [n for n, (found, _) in fresh.items() if found is None]
        if unverified:
            reason = self.stopped or fresh[unverified[0]][1]
            result.note = f"{len(unverified)} GitHub name(s) could not be verified: {reason}."
        return result


def _rate_limit_note(headers: Mapping[str, str]) -> str:
    reset = headers.get("x-ratelimit-reset", "")
    wait = headers.get("retry-after", "")
    if reset.isdigit():
        when = dt.datetime.fromtimestamp(int(reset), tz=dt.UTC).strftime("%H:%M UTC")
        return f"GitHub's rate limit is reached until {when}; not verified"
    if wait.isdigit():
        return f"GitHub asks to wait {wait} s (rate limit); not verified"
    return "GitHub's rate limit is reached; not verified"


# --- what callers ask -----------------------------------------------------------------------


def lookup_users(spec: HubSpec, names: Iterable[str]) -> Lookups:
    """Whether GitHub knows each of `names` as a user ({} answers for other providers)."""
    if spec.auth.provider != "github":
        return Lookups()
    return GitHubLookup().check(dict.fromkeys(names, "user"))


def _new(spec: HubSpec, previous: Mapping[str, Any] | None) -> dict[str, list[tuple[int, str]]]:
    """{spec field: [(index, name)]} of the names `spec` lists that `previous` did not."""
    out: dict[str, list[tuple[int, str]]] = {}
    for key in ("admins", "allowed_users"):
        old = {str(n).lower() for n in (previous or {}).get(key) or []}
        out[key] = [(i, n) for i, n in enumerate(getattr(spec, key)) if n.lower() not in old]
    old_orgs: set[str] = set()
    if previous is not None:
        old_auth = previous.get("auth") or {}
        settings_ = old_auth.get("github") if isinstance(old_auth, dict) else None
        if isinstance(settings_, dict):
            old_orgs = {str(o).lower() for o in settings_.get("organizations") or []}
    if spec.auth.github is not None:
        orgs = spec.auth.github.organizations
        out["auth.github.organizations"] = [
            (i, o) for i, o in enumerate(orgs) if o.lower() not in old_orgs
        ]
    return out


def refuse_unknown(spec: HubSpec, previous: Mapping[str, Any] | None = None) -> Lookups:
    """Refuse (SpecError, by line) names the login provider would not let in.

    Only what `spec` adds to `previous` (the spec it replaces) is checked.
    Emails outside the hub's allowed domains and GitHub names GitHub does
    not know are refused; names GitHub could not be asked about pass, listed
    in the answer as not verified.
    """
    added = _new(spec, previous)
    errors: dict[str, list[str]] = {}
    domains = allowed_domains(spec)
    for key in ("admins", "allowed_users"):
        for i, name in added[key]:
            problem = domain_problem(domains, name)
            if problem:
                errors.setdefault(f"{key}[{i}]", []).append(problem)
    lookups = Lookups()
    if spec.auth.provider == "github":
        kinds = {n: "user" for key in ("admins", "allowed_users") for _, n in added[key]}
        for _, org in added.get("auth.github.organizations", []):
            kinds[org] = "team" if ":" in org else "org"
        lookups = GitHubLookup().check(kinds)
        for key, items in added.items():
            for i, name in items:
                found, why = lookups.answers.get(name, (True, ""))
                if found is False:
                    errors.setdefault(f"{key}[{i}]", []).append(why)
    if errors:
        raise SpecError(errors)
    return lookups
