"""Where hubs are deployed to, and each attempt to deploy one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from hubs.states import DeploymentState
from portal.crypto import EncryptedTextField


class DeployTarget(models.Model):
    """A GitOps infrastructure repository that clusters in gitops mode deploy through."""

    class Forge(models.TextChoices):
        GITHUB = "github", "GitHub"
        GITLAB = "gitlab", "GitLab"
        NONE = "none", "None (push only)"

    class MergePolicy(models.TextChoices):
        PULL_REQUEST = "pull_request", "Open a pull request"
        DIRECT = "direct", "Commit to the base branch"

    name = models.CharField(max_length=100, unique=True)
    repo_url = models.CharField(
        max_length=500, help_text="file://, ssh (git@host:org/repo.git) or https:// clone URL."
    )
    base_branch = models.CharField(max_length=200, default="main")
    forge = models.CharField(max_length=10, choices=Forge.choices, default=Forge.NONE)
    forge_api_url = models.URLField(
        blank=True,
        help_text="e.g. https://api.github.com, https://ghe.example.org/api/v3, "
        "https://gitlab.example.org. Empty for the public forge.",
    )
    forge_repository = models.CharField(
        max_length=300, blank=True, help_text="owner/name on GitHub; the project path on GitLab."
    )
    token = EncryptedTextField(blank=True, help_text="Forge API token (stored encrypted).")
    github_app_id = models.CharField(max_length=50, blank=True)
    github_app_installation_id = models.CharField(max_length=50, blank=True)
    github_app_private_key = EncryptedTextField(blank=True)
    merge_policy = models.CharField(
        max_length=20, choices=MergePolicy.choices, default=MergePolicy.PULL_REQUEST
    )
    webhook_secret = EncryptedTextField(blank=True)
    commit_author_name = models.CharField(max_length=100, default="Hub Portal")
    commit_author_email = models.EmailField(default="hub-portal@localhost")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Deployment(models.Model):
    """One attempt to make a hub revision real (or to remove the hub)."""

    class Backend(models.TextChoices):
        GITOPS = "gitops", "GitOps"
        HELM = "helm", "Helm"

    class Action(models.TextChoices):
        APPLY = "apply", "Apply"
        DECOMMISSION = "decommission", "Decommission"

    hub = models.ForeignKey("hubs.Hub", on_delete=models.CASCADE, related_name="deployments")
    revision = models.ForeignKey(
        "hubs.HubRevision", on_delete=models.PROTECT, related_name="deployments"
    )
    backend = models.CharField(max_length=10, choices=Backend.choices)
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.APPLY)
    state = models.CharField(
        max_length=20,
        choices=DeploymentState.choices,
        default=DeploymentState.QUEUED,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    pr_number = models.PositiveIntegerField(null=True, blank=True)
    pr_url = models.URLField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Extra answers the action needs, e.g. what to do with user data on removal.
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched while a worker holds the deployment; the sweeper re-queues
    # deployments whose worker has gone quiet for too long.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Not before this time (backoff between transient failures).
    not_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="deployment_sweep")]

    def __str__(self) -> str:
        return f"deployment {self.pk} of {self.hub_id} r{self.revision_id}"

    def get_absolute_url(self) -> str:
        return reverse("provisioning:deployment", args=[self.pk])

    def add_log(self, message: str, *, step: str = "", level: str = "info") -> None:
        """Append one line to the deployment's step log."""
        DeploymentLogEntry.objects.create(deployment=self, message=message, step=step, level=level)


class DeploymentLogEntry(models.Model):
    """One line of a deployment's step log. Append-only."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"
        OUTPUT = "output", "Output"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="log")
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    step = models.CharField(max_length=50, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.level}: {self.message[:60]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Deployment log entries are never edited.")
        super().save(*args, **kwargs)


class PendingCredentials(models.Model):
    """Secrets a GitOps hub's login needs that the portal cannot write.

    2i2c's hubs keep their OAuth client or shared password in a sops-encrypted
    file in the repository (`enc-<hub>.secret.values.yaml`), which only the
    operators can encrypt. A revision whose login needs such a file records
    what must be in it here; until the row is done (an operator marks it, or
    the merged pull request carried the file) the hub waits for credentials
    instead of becoming active (provisioning/lifecycle.py).
    """

    hub = models.ForeignKey("hubs.Hub", on_delete=models.CASCADE, related_name="credentials")
    revision = models.ForeignKey(
        "hubs.HubRevision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    provider = models.CharField(max_length=30, help_text="The login provider that needs them.")
    path = models.CharField(max_length=500, help_text="The encrypted file, repository-relative.")
    keys = models.JSONField(default=list, help_text="Dotted keys the file must set.")
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "pending credentials"

    def __str__(self) -> str:
        return f"{self.path} ({'done' if self.done_at else 'pending'})"

    @property
    def pending(self) -> bool:
        return self.done_at is None
