"""The domain's way out to the provisioning pipeline above it, installed at start-up.

The domain (hubs/) must not import provisioning/ (import-linter keeps it so:
`make lint`), yet approving a request creates a hub whose files must be
rendered and deployed, and the request form previews the files a spec would
become. provisioning's AppConfig.ready() installs its lifecycle and preview
modules here; the domain calls through this seam without knowing
where the work is done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django import forms

    from hubs.models import Cluster, Hub, HubRequest
    from hubs.validation import Checked


class Provisioner(Protocol):
    def create_hub(
        self,
        request: HubRequest,
        checked: Checked,
        *,
        by: Any,
        inputs: Mapping[str, Any] | None = None,
    ) -> Hub:
        """Create the hub an approved request asked for, render it and queue its deployment
        (`inputs`: the per-hub values its cluster needs; SpecError naming each missing one)."""

    def apply_change(
        self, hub: Hub, checked: Checked, *, by: Any, reason: str, author: Any = None
    ) -> Any:
        """Deploy `checked` to a live hub as its next revision (`author` asked for it)."""


class Previewer(Protocol):
    """What a spec would become (provisioning/preview.py): files, their checks, plain words."""

    def preview_request(self, spec: Any, *, request: HubRequest | None = None) -> Any:
        """A new hub's files and what was checked (a Preview; `problems` if it cannot be made)."""

    def preview_change(self, hub: Hub, spec: Any) -> Any:
        """A live hub's change against what it runs (a Preview)."""


class SubmissionRule(Protocol):
    def __call__(self, request: HubRequest, checked: Checked) -> str:
        """On submission: raise SpecError to refuse it; return a reason to approve it at once,
        or "" to leave it to the reviewers (the events app's capacity and auto-approval)."""


class HubExtension(Protocol):
    """What an app above adds to every hub's page and API answer (monitoring: health,
    usage and cost), without the pages below it knowing the app."""

    def prefetch(self, hubs: Any) -> Any:
        """The hubs queryset with what `summary` reads joined in (no query per hub)."""

    def summary(self, hub: Hub) -> dict[str, Any]:
        """{key: value} merged into the hub's API representation."""

    def panels(self, request: Any, hub: Hub) -> str:
        """HTML for the hub page's #hub-panels (rendered from a template: already escaped)."""


_provisioner: Provisioner | None = None
_previewer: Previewer | None = None
_submission_rules: list[SubmissionRule] = []
# (cluster, data) -> the approval page's form for the cluster's inputs (provisioning/fleet).
_inputs_form: Callable[..., forms.Form] | None = None


def install_inputs_form(factory: Callable[..., forms.Form]) -> None:
    global _inputs_form
    _inputs_form = factory


def inputs_form(cluster: Cluster, data: Any = None) -> forms.Form:
    """A form with one field per value `cluster` needs for a new hub (none: no fields);
    once valid, its `inputs` are the checked values for approve_request."""
    if _inputs_form is None:
        raise ImproperlyConfigured("provisioning is not installed (INSTALLED_APPS)")
    conventions = cluster.conventions if isinstance(cluster.conventions, dict) else {}
    return _inputs_form(conventions, data)


_hub_extensions: list[HubExtension] = []


def add_hub_extension(extension: HubExtension) -> None:
    """Installed at start-up by an app above the domain (idempotent)."""
    if extension not in _hub_extensions:
        _hub_extensions.append(extension)


def prefetch_hubs(hubs: Any) -> Any:
    """`hubs` (a queryset) with what every extension's summary reads."""
    for extension in _hub_extensions:
        hubs = extension.prefetch(hubs)
    return hubs


def hub_summary(hub: Hub) -> dict[str, Any]:
    """What the extensions add to a hub's API representation."""
    summary: dict[str, Any] = {}
    for extension in _hub_extensions:
        summary.update(extension.summary(hub))
    return summary


def hub_panels(request: Any, hub: Hub) -> list[str]:
    """The extensions' panels for the hub page."""
    return [extension.panels(request, hub) for extension in _hub_extensions]


def add_submission_rule(rule: SubmissionRule) -> None:
    """Installed at start-up by an app above the domain (idempotent)."""
    if rule not in _submission_rules:
        _submission_rules.append(rule)


def check_submission(request: HubRequest, checked: Checked) -> str:
    """Ask every submission rule; the first reason to approve at once, else ""."""
    reasons = [rule(request, checked) for rule in _submission_rules]
    return next((reason for reason in reasons if reason), "")


def install(provisioner: Provisioner, previewer: Previewer | None = None) -> None:
    """Install the pipeline (an app above may wrap it later: events installs its own
    provisioner over provisioning's, keeping the previewer)."""
    global _provisioner, _previewer
    _provisioner = provisioner
    if previewer is not None:
        _previewer = previewer


def previewer() -> Previewer:
    if _previewer is None:
        raise ImproperlyConfigured("provisioning is not installed (INSTALLED_APPS)")
    return _previewer


def provisioner() -> Provisioner:
    if _provisioner is None:
        raise ImproperlyConfigured("provisioning is not installed (INSTALLED_APPS)")
    return _provisioner
