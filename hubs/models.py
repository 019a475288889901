"""The domain: catalog (clusters, offerings, images), requests, hubs and the audit trail.

State fields are only ever changed by hubs/transitions.move() (called by the
named actions in hubs/actions.py and provisioning/lifecycle.py); the models
hold data and small derived helpers.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from hubs.spec import DNS_LABEL, HOSTNAME, PURPOSES, check_image_reference
from hubs.states import HubState, RequestState
from portal.crypto import EncryptedTextField

slug_validator = RegexValidator(
    DNS_LABEL, "Use lowercase letters, digits and '-', starting and ending with a letter or digit."
)
domain_validator = RegexValidator(HOSTNAME, "Enter a domain name such as hubs.example.org.")
# Kubernetes quantities as z2jh wants them: "512M", "2G", "1.5Gi"; "10Gi" for storage.
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(k|M|G|T|Ki|Mi|Gi|Ti)?$")
quantity_validator = RegexValidator(QUANTITY, "Enter a Kubernetes quantity such as 2G or 10Gi.")
# The Secret (in a hub's namespace) its HubSecrets are written to, unless the
# cluster's conventions name another: the z2jh values refer to it by this name.
HUB_SECRET_NAME = "hub-portal-secrets"  # noqa: S105 - an object's name, not a secret  # nosec B105


class Cluster(models.Model):
    """A Kubernetes cluster hubs run on, and how the portal deploys to it."""

    class Provider(models.TextChoices):
        GCP = "gcp", "Google Cloud"
        AWS = "aws", "Amazon Web Services"
        AZURE = "azure", "Microsoft Azure"
        KUBECONFIG = "kubeconfig", "Other (kubeconfig)"

    class Tenancy(models.TextChoices):
        SHARED = "shared", "Shared"
        DEDICATED = "dedicated", "Dedicated"

    class DeployMode(models.TextChoices):
        GITOPS = "gitops", "GitOps pull request"
        HELM = "helm", "Direct Helm install"

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    region = models.CharField(max_length=50, blank=True)
    tenancy = models.CharField(max_length=20, choices=Tenancy.choices, default=Tenancy.SHARED)
    base_domain = models.CharField(
        max_length=253,
        validators=[domain_validator],
        help_text="A hub's domain is <hub>.<base domain> unless it asks for its own.",
    )
    deploy_mode = models.CharField(
        max_length=10, choices=DeployMode.choices, default=DeployMode.GITOPS
    )
    active = models.BooleanField(default=True, help_text="Inactive clusters take no new hubs.")

    # --- gitops mode: where the cluster's folder lives, and its conventions
    deploy_target = models.ForeignKey(
        "provisioning.DeployTarget",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clusters",
    )
    conventions = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "How hubs are laid out in this cluster's folder: helm_chart, "
            "shared_values_files, secret_values_file (a pattern with {hub}). "
            "Learnt from the repository on import."
        ),
    )
    imported_at = models.DateTimeField(null=True, blank=True)

    # --- helm mode
    kubeconfig = EncryptedTextField(blank=True, help_text="Stored encrypted.")
    kube_context = models.CharField(max_length=200, blank=True)
    chart_repository = models.URLField(default="https://hub.jupyter.org/helm-chart/")
    chart_name = models.CharField(max_length=100, default="jupyterhub")
    chart_version = models.CharField(max_length=50, default="4.4.0")
    namespace_template = models.CharField(
        max_length=63, default="{hub}", help_text="The namespace for a hub; {hub} is its name."
    )
    helm_binary = models.CharField(max_length=500, default="helm")
    helm_timeout = models.PositiveIntegerField(default=600, help_text="Seconds.")
    readiness_timeout = models.PositiveIntegerField(default=300, help_text="Seconds.")
    hub_url_template = models.CharField(
        max_length=300,
        default="https://{domain}",
        help_text="Where the portal reaches a hub to check its health; {domain}, {hub}.",
    )
    # gitops mode: "active" means deployed, so where the portal can reach the cluster's
    # hubs it waits after the merge until /hub/health answers (provisioning/deployments.py).
    wait_for_health = models.BooleanField(
        default=False,
        help_text=(
            "GitOps clusters: after a merge, a hub is active only once its /hub/health "
            "answers 200 at the address above. Off: active at the merge."
        ),
    )

    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def hub_domain(self, hub_name: str) -> str:
        return f"{hub_name}.{self.base_domain}"

    @property
    def hub_secret_name(self) -> str:
        """The Kubernetes Secret holding a helm-installed hub's OAuth client or password."""
        conventions = self.conventions if isinstance(self.conventions, dict) else {}
        return str(conventions.get("secret_name") or HUB_SECRET_NAME)

    @property
    def needs_inputs(self) -> bool:
        """Whether a new hub here needs per-hub infrastructure values given at approval
        (conventions["inputs"], learnt on import: provisioning/render/inputs.py)."""
        conventions = self.conventions if isinstance(self.conventions, dict) else {}
        return bool(conventions.get("inputs"))


class Offering(models.Model):
    """A tier a community can choose: what it gets, where it may run, what it costs."""

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    purposes = models.JSONField(
        default=list, help_text=f"Any of {', '.join(PURPOSES)}: what the tier is for."
    )
    cpu_guarantee = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("0.5"), validators=[MinValueValidator(0)]
    )
    cpu_limit = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("2"), validators=[MinValueValidator(0)]
    )
    mem_guarantee = models.CharField(max_length=20, default="1G", validators=[quantity_validator])
    mem_limit = models.CharField(max_length=20, default="2G", validators=[quantity_validator])
    storage_capacity = models.CharField(
        max_length=20, default="10Gi", validators=[quantity_validator]
    )
    cull_timeout = models.PositiveIntegerField(default=3600, help_text="Seconds idle.")
    cull_max_age = models.PositiveIntegerField(
        default=0, help_text="Seconds a server may live; 0 for no cap."
    )
    dask_gateway = models.BooleanField(default=False)
    gpu = models.BooleanField(default=False)
    shared_directory = models.BooleanField(default=False)
    max_users = models.PositiveIntegerField(default=100)
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    user_hour_rate = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        help_text="Charged per user-hour (a user's server running an hour), on top of the fee.",
    )
    clusters = models.ManyToManyField(Cluster, related_name="offerings", blank=True)
    allow_custom_image = models.BooleanField(default=False)
    requires_review = models.BooleanField(default=True)
    template_set = models.CharField(
        max_length=63,
        blank=True,
        help_text=(
            "Folder under the hub templates; empty means the offering's slug, then 'default'."
        ),
    )
    resource_quota = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'Kubernetes ResourceQuota hard limits for helm installs, e.g. {"requests.cpu": "20"}.'
        ),
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["monthly_fee", "slug"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        bad = (
            [p for p in self.purposes if p not in PURPOSES]
            if isinstance(self.purposes, list)
            else [1]
        )
        if bad or not self.purposes:
            raise ValidationError({"purposes": f"Choose from {', '.join(PURPOSES)}."})
        if self.cpu_limit < self.cpu_guarantee:
            raise ValidationError({"cpu_limit": "The limit must be at least the guarantee."})

    @property
    def is_event(self) -> bool:
        return "event" in self.purposes


class UserImage(models.Model):
    """A curated user image; tiers may also allow a custom reference."""

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=100)
    reference = models.CharField(max_length=512)
    description = models.TextField(blank=True, max_length=2000)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            check_image_reference(self.reference)
        except ValueError as exc:
            raise ValidationError({"reference": f"The reference {exc}."}) from exc


class Community(models.Model):
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500, blank=True)
    logo_url = models.URLField(max_length=500, blank=True)
    leads = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="communities")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "communities"

    def __str__(self) -> str:
        return self.name


class HubRequest(models.Model):
    """A community's request for a hub, as it moves through review."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hub_requests"
    )
    state = models.CharField(
        max_length=20, choices=RequestState.choices, default=RequestState.DRAFT, db_index=True
    )
    # The hub spec as the requester left it (partial while a draft).
    spec = models.JSONField(default=dict)
    # Denormalised from the spec for the review queue's filters.
    name = models.CharField(max_length=63, blank=True)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, null=True, blank=True)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, null=True, blank=True)
    notes = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submission_count = models.PositiveIntegerField(default=0)
    # Set on a request to change a live hub beyond what its tier allows (another
    # tier or purpose): approving it deploys the change to this hub instead of
    # creating a new one.
    target_hub = models.ForeignKey(
        "Hub",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="change_requests",
    )
    # The hub's spec when the change was asked for: approval applies only the
    # fields the request changes, over whatever the hub has become meanwhile.
    base_spec = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "submitted_at"], name="request_queue"),
            models.Index(fields=["requester", "-created_at"], name="request_mine"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.display_name}"

    def get_absolute_url(self) -> str:
        return reverse("hubs:request", args=[self.pk])

    @property
    def display_name(self) -> str:
        return str(self.spec.get("display_name") or self.name or "Untitled request")

    @property
    def is_change(self) -> bool:
        """Whether this request changes a live hub (rather than asking for a new one)."""
        return self.target_hub_id is not None

    @property
    def waiting_since(self) -> Any:
        return self.submitted_at if self.state == RequestState.SUBMITTED else None


class RequestSubmission(models.Model):
    """The spec as it was each time the requester submitted it (for "what changed")."""

    request = models.ForeignKey(HubRequest, on_delete=models.CASCADE, related_name="submissions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="one_submission_number")
        ]

    def __str__(self) -> str:
        return f"{self.request_id} submission {self.number}"


class RequestComment(models.Model):
    request = models.ForeignKey(HubRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=5000)
    # The transition this comment came with, if any ("approved", ...).
    transition = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment {self.pk} on request {self.request_id}"


class Hub(models.Model):
    """A hub the portal manages, whether it asked for it or adopted it."""

    name = models.CharField(max_length=63, validators=[slug_validator])
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="hubs")
    offering = models.ForeignKey(
        Offering, on_delete=models.PROTECT, null=True, blank=True, related_name="hubs"
    )
    community = models.ForeignKey(
        Community, on_delete=models.SET_NULL, null=True, blank=True, related_name="hubs"
    )
    request = models.OneToOneField(
        HubRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="hub"
    )
    display_name = models.CharField(max_length=100, blank=True)
    domain = models.CharField(max_length=253)
    state = models.CharField(
        max_length=20, choices=HubState.choices, default=HubState.PROVISIONING, db_index=True
    )
    # The current spec (the latest revision's); partial for adopted hubs
    # whose files do not fit the spec's shape.
    spec = models.JSONField(default=dict)
    current_revision = models.PositiveIntegerField(default=0)
    # Adopted from an existing repository by `import_repo` rather than requested.
    imported = models.BooleanField(default=False)
    # Drift: the repository's files no longer match the latest revision.
    drift = models.JSONField(default=dict, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    event_start = models.DateTimeField(null=True, blank=True)
    event_end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cluster__slug", "name"]
        constraints = [
            # A name may be reused once the hub that had it is gone.
            models.UniqueConstraint(
                fields=["cluster", "name"],
                condition=~Q(state=HubState.DECOMMISSIONED),
                name="one_live_hub_per_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cluster.slug}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("hubs:hub", args=[self.cluster.slug, self.name])

    @property
    def url(self) -> str:
        return f"https://{self.domain}"

    @property
    def address(self) -> str:
        """Where the portal reaches the hub (its cluster's hub_url_template), without a
        trailing slash: the helm backend's readiness, the GitOps wait for /hub/health and
        monitoring all ask here. A template naming something unknown falls back to url."""
        template = self.cluster.hub_url_template or "https://{domain}"
        namespace_template = self.cluster.namespace_template or "{hub}"
        try:
            namespace = namespace_template.format(hub=self.name)
            return template.format(domain=self.domain, hub=self.name, namespace=namespace).rstrip(
                "/"
            )
        except (KeyError, IndexError, ValueError):
            return self.url

    @property
    def has_spec(self) -> bool:
        """Whether the portal holds this hub's whole spec (hubs adopted from a
        repository may have only part of one), so it can render, change and export it."""
        return not self.imported or bool(self.spec.get("offering"))


class HubRevision(models.Model):
    """A numbered, immutable snapshot of a hub's spec and the files rendered from it."""

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    # {repository-relative path: text}; the z2jh values under "z2jh/values.yaml"
    # for helm installs, the 2i2c files under config/clusters/... for gitops.
    files = models.JSONField(default=dict)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["hub", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hub", "number"], name="one_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.hub} r{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Hub revisions are immutable; make a new revision instead.")
        super().save(*args, **kwargs)


class HubSecret(models.Model):
    """A secret attached to a hub (OAuth client credentials, a shared password)."""

    class Key(models.TextChoices):
        OAUTH_CLIENT_ID = "oauth_client_id", "OAuth client id"
        OAUTH_CLIENT_SECRET = "oauth_client_secret", "OAuth client secret"
        SHARED_PASSWORD = "shared_password", "Shared password"
        ADMIN_PASSWORD = "admin_password", "Admin password"
        # The portal's JupyterHub API token for reading usage (monitoring/usage.py):
        # generated for helm clusters, added by an operator for GitOps ones.
        USAGE_TOKEN = "usage_token", "Usage API token (the portal's service token)"

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="secrets")
    key = models.CharField(max_length=40, choices=Key.choices)
    value = EncryptedTextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub", "key"], name="one_secret_per_key")]

    def __str__(self) -> str:
        return f"{self.hub} {self.key}"


class AuditEvent(models.Model):
    """Who did what to which object, when, with before and after. Append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "created_at"], name="audit_object")
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are never deleted.")


# --- hub admins (issue 13) ----------------------------------------------------------


class HubAdmin(models.Model):
    """A portal user who administers one hub, and why (hubs/admins.py keeps these)."""

    class How(models.TextChoices):
        REQUESTER = "requester", "Requested the hub"
        INVITED = "invited", "Invited by email"
        IDENTITY = "identity", "Sign-in matches a hub admin"

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="portal_admins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="administered_hubs"
    )
    how = models.CharField(max_length=20, choices=How.choices)
    # For `identity`: the GitHub login or email address that matched.
    identity = models.CharField(max_length=254, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["hub", "created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["hub", "user"], name="one_admin_row")]

    def __str__(self) -> str:
        return f"{self.user} administers {self.hub_id} ({self.how})"


class AdminInvitation(models.Model):
    """An emailed link that makes whoever accepts it (with that address) an admin of a hub.

    Only a hash of the token is stored; the link in the email is the token.
    """

    hub = models.ForeignKey(Hub, on_delete=models.CASCADE, related_name="admin_invitations")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.hub_id}"

    @property
    def status(self) -> str:
        """pending, accepted, revoked or expired."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class PendingMembers(models.Model):
    """Member changes waiting out the debounce window, to be deployed as one revision.

    One row per hub at most; provisioning/members.py merges each change into
    it and deletes it once the batch is a revision.
    """

    hub = models.OneToOneField(Hub, on_delete=models.CASCADE, related_name="pending_members")
    # {"admin": {"add": [...], "remove": [...]}, "allowed": {...}}
    changes = models.JSONField(default=dict)
    last_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    authors = models.JSONField(default=list)  # user ids, in the order they changed it
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(db_index=True)
    # Why the batch could not be deployed when it was due (it waits to be fixed or discarded).
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "pending members"

    def __str__(self) -> str:
        return f"pending member changes of {self.hub_id}"
