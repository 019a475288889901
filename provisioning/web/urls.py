from __future__ import annotations

from django.urls import path

from provisioning import webhooks
from provisioning.web import pages as views

app_name = "provisioning"

urlpatterns = [
    path("deployments/<int:pk>/", views.deployment, name="deployment"),
    path("deployments/<int:pk>/log/", views.deployment_log, name="deployment_log"),
    path("deployments/<int:pk>/retry/", views.deployment_retry, name="deployment_retry"),
    path("webhooks/github/<int:target_id>/", webhooks.github, name="github_webhook"),
    path("webhooks/gitlab/<int:target_id>/", webhooks.gitlab, name="gitlab_webhook"),
]
