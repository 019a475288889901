"""The hub spec: one shape for the request form, the API, `render_hub` and revisions.

This module checks the shape and syntax of a spec and nothing that needs the
database (that is hubs/validation.py), so the renderer can use it as a pure
function. Field names here are the public interface documented in README.md.
Every string is bounded and every list is bounded; unknown keys are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from portal.text import check_json

# --- syntax ------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SLUG = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$"
)
# https://docs.github.com/en/enterprise-cloud@latest/admin/identity-and-access-management/iam-configuration-reference/username-considerations-for-external-authentication
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
GITHUB_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
# Deliberately simple: one @, no spaces, a dotted domain.
EMAIL = re.compile(r"^[^@\s\"'<>,;]{1,64}@([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
GENERIC_USERNAME = re.compile(r"^[^\s/]{1,200}$")
CLAIM = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")
URN = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[\x21-\x7e]{1,400}$")
HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
# Every string of a spec is one line: line breaks, tabs, other control
# characters and lone surrogates (which neither the database nor YAML holds) are refused.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

# The OCI image-reference grammar of distribution/reference (reference.go).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)

# Names that would collide with a cluster's own namespaces or 2i2c's
# conventions (every cluster has a `staging` hub and a `support` release).
RESERVED_NAMES = frozenset(
    {
        "default",
        "staging",
        "prod",
        "support",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "cert-manager",
        "ingress-nginx",
        "prometheus",
        "grafana",
        "hub",
        "api",
        "www",
        "admin",
    }
)

PROVIDERS = ("github", "cilogon", "google", "generic-oidc", "tmp", "shared-password")
# Throwaway or shared-password users are only for time-boxed events.
EVENT_ONLY_PROVIDERS = frozenset({"tmp", "shared-password"})
PURPOSES = ("education", "research", "event")
CILOGON_CLAIMS = ("email", "eppn", "oidc", "preferred_username")
MAX_EVENT_DAYS = 92
# A university-wide hub lists its students: 20,000 names (about 1 MB of email
# addresses, within MAX_SPEC_BYTES; tests/hubs/test_members.py measures it).
MAX_ALLOWED_USERS = 20_000
MAX_ADMINS = 100


def split_image_reference(ref: str) -> tuple[str, str]:
    """`quay.io/org/img:tag@sha256:…` → (name, tag) as z2jh wants them."""
    match = IMAGE_REFERENCE.match(ref)
    if not match:
        raise ValueError(f"not an image reference: {ref!r}")
    tag = match["tag"] or ""
    if match["digest"]:
        tag = f"{tag}@{match['digest']}"
    return match["name"], tag


def check_image_reference(ref: str) -> str:
    match = IMAGE_REFERENCE.match(ref)
    if not match or len(match["name"]) > 255:
        raise ValueError(
            "is not a valid image reference; write it as registry/name:tag, "
            "e.g. quay.io/jupyter/scipy-notebook:2024-12-02 (lowercase name)"
        )
    if not match["tag"]:
        raise ValueError(
            "needs a tag (e.g. :2024-12-02, optionally followed by @sha256:…); the chart "
            "requires one"
        )
    return ref


# --- field types -------------------------------------------------------------


def _no_control(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("must be one line of text, without line breaks or control characters")
    return value


def _pattern(regex: re.Pattern[str], message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _lower(value: str) -> str:
    return value.lower()


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        key = value.lower() if isinstance(value, str) else value
        if key in seen:
            raise ValueError(f"lists {value!r} twice")
        seen.add(key)
    return values


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control)]
Slug = Annotated[
    str,
    Field(min_length=1, max_length=63),
    _pattern(SLUG, "must be a catalog slug: lowercase letters, digits and '-'"),
]
Domain = Annotated[
    str,
    Field(min_length=3, max_length=253),
    AfterValidator(_lower),
    _pattern(HOSTNAME, "must be a domain name such as uni.edu"),
]
# No minimum length: the pattern says what is wrong with "ftp://x" better than a count would.
Url = Annotated[
    str,
    Field(max_length=500),
    AfterValidator(_no_control),
    _pattern(HTTP_URL, "must be an http:// or https:// address"),
]
HttpsUrl = Annotated[
    str,
    Field(max_length=500),
    AfterValidator(_no_control),
    _pattern(re.compile(r"^https://[^\s/?#]+[^\s]*$", re.I), "must be an https:// address"),
]
Username = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# --- the spec ----------------------------------------------------------------


class Community(Strict):
    name: Text
    url: Url | None = None
    logo_url: Url | None = None


class Image(Strict):
    catalog: Slug | None = None
    custom: Annotated[str, Field(min_length=1, max_length=512)] | None = None

    @field_validator("custom")
    @classmethod
    def _custom_reference(cls, value: str | None) -> str | None:
        return None if value is None else check_image_reference(value)

    @model_validator(mode="after")
    def _one_of(self) -> Image:
        if (self.catalog is None) == (self.custom is None):
            raise ValueError("choose either a catalog image or a custom image reference")
        return self


def _github_org(value: str) -> str:
    org, _, team = value.partition(":")
    if not GITHUB_LOGIN.match(org):
        raise ValueError(
            f"{value!r} is not a GitHub organisation: letters, digits and single "
            "hyphens, at most 39 characters"
        )
    if ":" in value and not GITHUB_TEAM.match(team):
        raise ValueError(f"{value!r}: the team after ':' must be a team slug such as instructors")
    return value


class GitHubAuth(Strict):
    organizations: Annotated[
        list[Annotated[str, Field(max_length=140), AfterValidator(_github_org)]],
        Field(min_length=1, max_length=50),
        AfterValidator(_unique),
    ]


def _entity_id(value: str) -> str:
    if not (HTTP_URL.match(value) or URN.match(value)):
        raise ValueError("must be the identity provider's EntityID: an http(s) address or a urn:")
    return value


class CILogonIdp(Strict):
    entity_id: Annotated[
        str,
        Field(min_length=5, max_length=500),
        AfterValidator(_no_control),
        AfterValidator(_entity_id),
    ]
    allowed_domains: Annotated[list[Domain], Field(max_length=100), AfterValidator(_unique)] = []
    allow_all: StrictBool = False
    username_claim: Literal["email", "eppn", "oidc", "preferred_username"] = "email"

    @model_validator(mode="after")
    def _one_rule(self) -> CILogonIdp:
        if self.allow_all and self.allowed_domains:
            raise ValueError("give allowed domains or allow all, not both")
        if not self.allow_all and not self.allowed_domains:
            raise ValueError("give the email domains allowed to log in, or allow all of its users")
        return self


class CILogonAuth(Strict):
    idps: Annotated[list[CILogonIdp], Field(min_length=1, max_length=20)]

    @field_validator("idps")
    @classmethod
    def _distinct(cls, idps: list[CILogonIdp]) -> list[CILogonIdp]:
        _unique([idp.entity_id for idp in idps])
        return idps


class GoogleAuth(Strict):
    hosted_domains: Annotated[
        list[Domain], Field(min_length=1, max_length=20), AfterValidator(_unique)
    ]


class GenericOIDCAuth(Strict):
    authorize_url: HttpsUrl
    token_url: HttpsUrl
    userdata_url: HttpsUrl
    username_claim: Annotated[
        str,
        Field(max_length=64),
        _pattern(CLAIM, "must be a claim name such as preferred_username"),
    ] = "preferred_username"
    scopes: Annotated[
        list[Annotated[str, _pattern(SCOPE, "must be a single OAuth scope without spaces")]],
        Field(min_length=1, max_length=20),
        AfterValidator(_unique),
    ] = ["openid", "email"]
    allow_all: StrictBool = False


class EmptyAuth(Strict):
    """tmp and shared-password take no settings (a shared password is a secret)."""


class Auth(Strict):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True, populate_by_name=True
    )

    provider: Literal["github", "cilogon", "google", "generic-oidc", "tmp", "shared-password"]
    github: GitHubAuth | None = None
    cilogon: CILogonAuth | None = None
    google: GoogleAuth | None = None
    generic_oidc: GenericOIDCAuth | None = Field(default=None, alias="generic-oidc")
    tmp: EmptyAuth | None = None
    shared_password: EmptyAuth | None = Field(default=None, alias="shared-password")

    @model_validator(mode="after")
    def _settings_match_provider(self) -> Auth:
        for provider in PROVIDERS:
            given = getattr(self, provider.replace("-", "_")) is not None
            if provider != self.provider and given:
                raise ValueError(f"has settings for {provider} but the provider is {self.provider}")
        if self.provider not in EVENT_ONLY_PROVIDERS and self.settings is None:
            raise ValueError(f"needs the {self.provider} settings")
        return self

    @property
    def settings(self) -> BaseModel | None:
        return getattr(self, self.provider.replace("-", "_"))


def _zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a time zone; use an IANA name such as Europe/Paris"
        ) from None
    return value


class Event(Strict):
    start: dt.datetime
    end: dt.datetime
    # The organiser's time zone (IANA name): the event is shown and edited in it.
    # Optional, so specs written before it existed stay valid; an offset alone
    # (-05:00) does not say which zone, and daylight saving needs the zone.
    timezone: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_zone)] | None = (
        None
    )

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2027-03-01T09:00:00-05:00")
        return value

    @model_validator(mode="after")
    def _order(self) -> Event:
        # About the end (event.end), so the form shows it under the end field.
        if self.end <= self.start:
            raise SpecError({"end": ["must be after the start"]})
        if self.end - self.start > dt.timedelta(days=MAX_EVENT_DAYS):
            raise SpecError({"end": [f"must be at most {MAX_EVENT_DAYS} days after the start"]})
        return self


def _hub_name(value: str) -> str:
    if not DNS_LABEL.match(value):
        raise ValueError(
            "must be lowercase letters, digits and '-', starting and ending with a "
            "letter or digit (it becomes the Kubernetes namespace)"
        )
    if value in RESERVED_NAMES or value.startswith("kube-"):
        raise ValueError(f"{value!r} is reserved; choose another name")
    return value


class HubSpec(Strict):
    name: Annotated[str, Field(min_length=1, max_length=63), AfterValidator(_hub_name)]
    display_name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_control)]
    purpose: Literal["education", "research", "event"]
    cluster: Slug
    offering: Slug
    domain: Domain | None = None
    community: Community
    image: Image
    auth: Auth
    admins: Annotated[list[Username], Field(max_length=MAX_ADMINS), AfterValidator(_unique)] = []
    allowed_users: Annotated[
        list[Username], Field(max_length=MAX_ALLOWED_USERS), AfterValidator(_unique)
    ] = []
    expected_users: Annotated[int, Field(ge=1, le=100_000)]
    event: Event | None = None

    @model_validator(mode="after")
    def _cross_fields(self) -> HubSpec:
        errors: list[tuple[str, str]] = []
        provider = self.auth.provider
        for field in ("admins", "allowed_users"):
            for i, user in enumerate(getattr(self, field)):
                problem = username_problem(provider, user, self.auth)
                if problem:
                    errors.append((f"{field}[{i}]", problem))
        if provider not in EVENT_ONLY_PROVIDERS and not self.admins:
            errors.append(("admins", "name at least one admin, who can log in and manage the hub"))
        if self.purpose == "event" and self.event is None:
            errors.append(("event", "an event hub needs its start and end"))
        if self.purpose != "event" and self.event is not None:
            errors.append(("event", "only event hubs have a start and end"))
        if provider in EVENT_ONLY_PROVIDERS and self.purpose != "event":
            errors.append(("auth.provider", f"{provider} login is only for event hubs"))
        if errors:
            raise SpecError({path: [msg] for path, msg in errors})
        return self

    def dump(self) -> dict[str, Any]:
        """The spec as plain JSON-able data, with the public (hyphenated) keys."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def username_problem(provider: str, user: str, auth: Auth) -> str:
    """Why `user` cannot be a username under `provider`, or ''."""
    if provider == "github":
        if not GITHUB_LOGIN.match(user):
            return f"{user!r} is not a GitHub username"
    elif provider == "google" or (
        provider == "cilogon"
        and auth.cilogon is not None
        and all(idp.username_claim in ("email", "eppn") for idp in auth.cilogon.idps)
    ):
        if not EMAIL.match(user):
            return f"{user!r} is not an email address (users log in with their email)"
    elif not GENERIC_USERNAME.match(user):
        return f"{user!r} is not a username (no spaces or '/')"
    return ""


# --- errors ------------------------------------------------------------------


class SpecError(ValueError):
    """Problems with a spec, keyed by field path (`auth.github.organizations[0]`)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{p}: {m}" for p, msgs in errors.items() for m in msgs))

    def lines(self) -> list[str]:
        return [f"{path}: {msg}" for path, msgs in self.errors.items() for msg in msgs]


_MESSAGES = {
    "missing": "this field is required",
    "extra_forbidden": "unknown field",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "datetime_parsing": "must be a date and time such as 2027-03-01T09:00:00-05:00",
    "datetime_from_date_parsing": "must be a date and time such as 2027-03-01T09:00:00-05:00",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false (a JSON boolean)",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "datetime_type": "must be a date and time such as 2027-03-01T09:00:00-05:00",
}
# Bounds on numbers, in words: "must be at least 1" rather than pydantic's own.
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    msg = str(error["msg"])
    if kind == "literal_error":
        return "must be one of " + msg.removeprefix("Input should be ")
    if kind == "string_too_short":
        size = error["ctx"]["min_length"]
        return "must not be empty" if size == 1 else f"must be at least {size} characters"
    if kind == "string_too_long":
        return f"must be at most {error['ctx']['max_length']} characters"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return words.format(error["ctx"][key])
    if kind == "too_long":
        size = error["ctx"]["max_length"]
        return f"lists at most {size} {'item' if size == 1 else 'items'}"
    if kind == "too_short":
        size = error["ctx"]["min_length"]
        return "needs at least one item" if size == 1 else f"needs at least {size} items"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should be "):
        # Any other of pydantic's own messages, in the spec's voice.
        msg = "must be " + msg.removeprefix("Input should be ")
    return msg[:1].lower() + msg[1:]


# --- drafts and changes ----------------------------------------------------------

# The spec's top-level fields (HubSpec's, by their public names).
SPEC_KEYS = frozenset(field.alias or name for name, field in HubSpec.model_fields.items())
# Drafts and hub specs alike; most of a big one is its allowlist (MAX_ALLOWED_USERS).
MAX_SPEC_BYTES = 1024 * 1024
# No spec field nests deeper than auth.cilogon.idps[0].allowed_domains[0].
MAX_SPEC_DEPTH = 8


def check_draft(spec: Any) -> dict[str, Any]:
    """A draft may be incomplete, but it is still bounded and has only known fields.

    Every string in it can be stored and written to YAML (no NUL, no lone
    surrogate), and it nests no deeper than a spec does.
    """
    if not isinstance(spec, dict):
        raise SpecError({"": ["a hub spec must be a mapping of fields"]})
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise SpecError({key: ["unknown field"] for key in unknown})
    problems = check_json(spec, max_depth=MAX_SPEC_DEPTH)
    if problems:
        raise SpecError(problems)
    if len(json.dumps(spec, default=str)) > MAX_SPEC_BYTES:
        raise SpecError({"": [f"the spec is larger than {MAX_SPEC_BYTES // 1024} KB"]})
    return spec


def patched(spec: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`spec` with each top-level field in `changes` replacing its own; None removes one.

    How a PATCH (of a request or a live hub) and a form edit change a spec.
    """
    merged = {**spec, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def parse_spec(data: Any) -> HubSpec:
    """Check a spec's shape and syntax; raise SpecError naming every bad field."""
    if not isinstance(data, dict):
        raise SpecError({"": ["a hub spec must be a mapping of fields"]})
    try:
        return HubSpec.model_validate(data)
    except SpecError:
        raise
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            nested = error.get("ctx", {}).get("error")
            loc = tuple(p for p in error["loc"] if p not in ("function-after",))
            if isinstance(nested, SpecError):
                for sub, msgs in nested.errors.items():
                    key = ".".join(p for p in (_path(loc), sub) if p).replace(".[", "[")
                    errors.setdefault(key, []).extend(msgs)
                continue
            errors.setdefault(_path(loc), []).append(_message(error))
        raise SpecError(errors) from None
