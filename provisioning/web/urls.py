"""Pages of hubs and deployments, and the forges' webhooks.

`hub_urlpatterns` join the request pages in the `hubs` URL namespace
(portal/urls.py); `urlpatterns` are the `provisioning` namespace.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from provisioning.web import confirm, hooks, live, pages, webhooks

hub_urlpatterns: list[URLPattern] = [
    path("hubs/", pages.hub_list, name="hub_list"),
    path("hubs/<slug:cluster>/<slug:name>/", pages.hub_detail, name="hub"),
    path("hubs/<slug:cluster>/<slug:name>/status/", live.hub_status, name="hub_status"),
    path("hubs/<slug:cluster>/<slug:name>/values.yaml", pages.hub_export, name="hub_export"),
    path("hubs/<slug:cluster>/<slug:name>/change/", confirm.hub_edit, name="hub_edit"),
    path("hubs/<slug:cluster>/<slug:name>/rollback/", confirm.hub_rollback, name="hub_rollback"),
    path(
        "hubs/<slug:cluster>/<slug:name>/decommission/",
        confirm.hub_decommission,
        name="hub_decommission",
    ),
    path("hubs/<slug:cluster>/<slug:name>/secrets/", pages.hub_secrets, name="hub_secrets"),
    path("hubs/<slug:cluster>/<slug:name>/webhooks/", hooks.hub_webhooks, name="hub_webhooks"),
    path("operations/", pages.operations, name="operations"),
    path("operations/webhooks/", hooks.operations_webhooks, name="operations_webhooks"),
]

app_name = "provisioning"

urlpatterns: list[URLPattern] = [
    path("deployments/<int:pk>/", pages.deployment, name="deployment"),
    path("deployments/<int:pk>/status/", live.deployment_status, name="deployment_status"),
    path("deployments/<int:pk>/log/", pages.deployment_log, name="deployment_log"),
    path("deployments/<int:pk>/retry/", pages.deployment_retry, name="deployment_retry"),
    path("webhooks/github/<int:target_id>/", webhooks.github, name="github_webhook"),
    path("webhooks/gitlab/<int:target_id>/", webhooks.gitlab, name="gitlab_webhook"),
]
