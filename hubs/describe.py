"""A hub spec in plain words: who may log in, what they get, and what a change alters.

Pure functions of spec dicts (and catalog rows handed in), for the preview
of a change (provisioning/preview.py), the request and hub pages and the
emails. Nothing here reads the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

PROVIDER_NAMES = {
    "github": "GitHub",
    "cilogon": "CILogon (institutional login)",
    "google": "Google",
    "generic-oidc": "OpenID Connect",
    "tmp": "temporary accounts",
    "shared-password": "a shared password",
}


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider or "—")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _settings(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    auth = _mapping(spec.get("auth"))
    provider = str(auth.get("provider") or "")
    return provider, _mapping(auth.get(provider))


def _strings(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def login_rules(spec: dict[str, Any]) -> list[str]:
    """Who may log in, one rule a line ("members of the GitHub organisation bcc-org")."""
    provider, settings = _settings(spec)
    rules: list[str] = []
    if provider == "github":
        for org in _strings(settings.get("organizations")):
            name, _, team = org.partition(":")
            rules.append(
                f"members of the team {team} of the GitHub organisation {name}"
                if team
                else f"members of the GitHub organisation {name}"
            )
    elif provider == "cilogon":
        for idp in settings.get("idps") or []:
            if not isinstance(idp, dict):
                continue
            where = str(idp.get("entity_id") or "")
            if idp.get("allow_all"):
                rules.append(f"everyone who logs in through {where}")
            for domain in _strings(idp.get("allowed_domains")):
                rules.append(f"people with an @{domain} address, through {where}")
    elif provider == "google":
        for domain in _strings(settings.get("hosted_domains")):
            rules.append(f"people with a Google account at {domain}")
    elif provider == "generic-oidc":
        if settings.get("allow_all"):
            host = urlsplit(str(settings.get("authorize_url") or "")).hostname or "the provider"
            rules.append(f"everyone {host} authenticates")
    elif provider == "tmp":
        rules.append("anyone who opens the hub (each gets a temporary account)")
    elif provider == "shared-password":
        rules.append("anyone who knows the shared password")
    rules += [f"{user} (admin)" for user in _strings(spec.get("admins"))]
    rules += [f"{user}" for user in _strings(spec.get("allowed_users"))]
    return rules


def access_change(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(gained, lost): who may log in after the change that could not before, and the reverse."""
    old, new = login_rules(before), login_rules(after)
    return [r for r in new if r not in old], [r for r in old if r not in new]


def how_to_log_in(spec: dict[str, Any]) -> str:
    """One sentence for the "your hub is live" email."""
    provider, _ = _settings(spec)
    if provider == "tmp":
        return "Open the hub's address: everyone gets a temporary account, no sign-up needed."
    if provider == "shared-password":
        return "Open the hub's address and log in with any username and the shared password."
    rules = [r for r in login_rules(spec) if not r.endswith("(admin)")]
    admins = ", ".join(_strings(spec.get("admins")))
    who = "; ".join(rules) if rules else "the people listed as allowed users"
    return (
        f"Open the hub's address and log in with {provider_name(provider)}. "
        f"Who may log in: {who}." + (f" Admins: {admins}." if admins else "")
    )


def image_label(spec: dict[str, Any], catalog: dict[str, str] | None = None) -> str:
    """The image a spec runs: "Jupyter SciPy (quay.io/jupyter/scipy-notebook:…)" or its reference.

    `catalog` maps catalog slugs to labels (the caller looks them up).
    """
    image = _mapping(spec.get("image"))
    if image.get("custom"):
        return f"{image['custom']} (custom)"
    slug = str(image.get("catalog") or "")
    if not slug:
        return "—"
    return (catalog or {}).get(slug, slug)


def when(value: Any) -> str:
    """An ISO date-time from a spec, in its own offset: "1 Mar 2027, 09:00 (UTC-05:00)"."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return "—"
    return value.strftime("%-d %b %Y, %H:%M") + f" ({offset_name(value)})"


def offset_name(value: dt.datetime) -> str:
    """ "UTC", "UTC+01:00", "UTC-05:00"."""
    offset = value.utcoffset()
    if offset is None:
        return "no time zone"
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


@dataclass(frozen=True)
class Resources:
    """What a tier gives each user and the hub, in the units people read."""

    cpu: str
    memory: str
    storage: str
    max_users: int
    features: tuple[str, ...]
    monthly_fee: str
    idle_culling: str


def _cpu(value: Any) -> str:
    number = float(value)
    text = f"{number:g}"
    return f"{text} CPU" if number == 1 else f"{text} CPUs"


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds // 60} minutes"


def resources(offering: Any) -> Resources:
    """An Offering's resources and features in words (duck-typed: any object with its fields)."""
    features = [
        name
        for flag, name in (
            ("dask_gateway", "Dask Gateway"),
            ("gpu", "GPUs"),
            ("shared_directory", "shared directory"),
            ("allow_custom_image", "custom images"),
        )
        if getattr(offering, flag, False)
    ]
    return Resources(
        cpu=f"{_cpu(offering.cpu_guarantee)} guaranteed, up to {_cpu(offering.cpu_limit)}",
        memory=f"{offering.mem_guarantee} guaranteed, up to {offering.mem_limit}",
        storage=f"{offering.storage_capacity} per user",
        max_users=int(offering.max_users),
        features=tuple(features),
        monthly_fee=money(offering.monthly_fee),
        idle_culling=f"servers stop after {_duration(int(offering.cull_timeout))} idle",
    )


def monthly_cost(offering: Any, users: int, hours_per_user: float) -> Decimal:
    """What a tier is expected to cost a month for `users` people who each run a server
    `hours_per_user` hours (PORTAL_COST_HOURS_PER_USER): its fee plus the user-hours."""
    rate = Decimal(str(getattr(offering, "user_hour_rate", 0) or 0))
    hours = Decimal(str(hours_per_user)) * Decimal(users)
    return (Decimal(str(offering.monthly_fee)) + rate * hours).quantize(Decimal("0.01"))


def estimate(offering: Any, users: Any, memory_gb: float) -> str:
    """What a tier comes to for `users` people (static/js/request_form.js says the same live)."""
    try:
        count = int(users)
    except (TypeError, ValueError):
        return ""
    if count < 1:
        return ""
    if count > offering.max_users:
        return f"More than this tier's {offering.max_users} users."
    hours = float(settings.PORTAL_COST_HOURS_PER_USER)
    total = float(monthly_cost(offering, count, hours))
    per_user = f"${total / count:,.2f} per user a month" if total > 0 else "free"
    cpu = round(float(offering.cpu_guarantee) * count, 1)
    about = (
        f" (about ${total:,.2f} a month with {hours:g} server-hours per user)"
        if float(getattr(offering, "user_hour_rate", 0) or 0) > 0
        else ""
    )
    return (
        f"For {count} users: {per_user}{about}; with everyone on, {cpu:g} CPUs and "
        f"{round(memory_gb * count)} GB of memory guaranteed."
    )


def money(value: Any) -> str:
    number = float(value)
    return "free" if number == 0 else f"${number:,.2f} a month"


def resource_changes(old: Any, new: Any, before: dict[str, Any], after: dict[str, Any]) -> list[
    tuple[str, str, str]
]:  # fmt: skip
    """[(what, before, after)] between two tiers (Offering rows or None) and two specs."""
    changes: list[tuple[str, str, str]] = []
    if old is not None and new is not None:
        was, now = resources(old), resources(new)
        if getattr(old, "slug", None) != getattr(new, "slug", None):
            changes.append(("tier", str(old), str(new)))
        for label, key in (
            ("CPU per user", "cpu"),
            ("memory per user", "memory"),
            ("storage", "storage"),
            ("most users", "max_users"),
            ("monthly fee", "monthly_fee"),
            ("idle servers", "idle_culling"),
        ):
            a, b = getattr(was, key), getattr(now, key)
            if a != b:
                changes.append((label, str(a), str(b)))
        if was.features != now.features:
            changes.append(
                ("features", ", ".join(was.features) or "none", ", ".join(now.features) or "none")
            )
    old_users, new_users = before.get("expected_users"), after.get("expected_users")
    if old_users != new_users:
        changes.append(("expected users", str(old_users or "—"), str(new_users or "—")))
    return changes
