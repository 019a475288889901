"""API endpoints for hubs and deployments, under /api/v1/ (portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from provisioning.web import api as views
from provisioning.web import history_api, members_api

urlpatterns: list[URLPattern] = [
    path("hubs/", views.HubList.as_view(), name="api-hubs"),
    path("hubs/<slug:cluster>/<slug:name>/", views.hub_detail, name="api-hub"),
    path("hubs/<slug:cluster>/<slug:name>/rollback/", views.hub_rollback, name="api-hub-rollback"),
    path(
        "hubs/<slug:cluster>/<slug:name>/decommission/",
        views.hub_decommission,
        name="api-hub-decommission",
    ),
    path("hubs/<slug:cluster>/<slug:name>/secrets/", views.hub_secrets, name="api-hub-secrets"),
    path(
        "hubs/<slug:cluster>/<slug:name>/credentials/",
        views.hub_credentials,
        name="api-hub-credentials",
    ),
    path("hubs/<slug:cluster>/<slug:name>/drift/", views.hub_drift, name="api-hub-drift"),
    path("deployments/<int:pk>/", views.deployment_detail, name="api-deployment"),
    path("deployments/<int:pk>/retry/", views.deployment_retry, name="api-deployment-retry"),
]

# A hub's members and portal admins, revisions, activity and bundle (issue 13).
HUB = "hubs/<slug:cluster>/<slug:name>/"
urlpatterns += [
    path(HUB + "members/", members_api.hub_members, name="api-hub-members"),
    path(HUB + "members/import/", members_api.hub_members_import, name="api-hub-members-import"),
    path(HUB + "members/export/", members_api.hub_members_export, name="api-hub-members-export"),
    path(HUB + "members/deploy/", members_api.hub_members_deploy, name="api-hub-members-deploy"),
    path(HUB + "admins/", members_api.hub_admins, name="api-hub-admins"),
    path(HUB + "admins/invitations/", members_api.hub_invitations, name="api-hub-invitations"),
    path(
        HUB + "admins/invitations/<int:pk>/",
        members_api.hub_invitation,
        name="api-hub-invitation",
    ),
    path(HUB + "admins/<str:username>/", members_api.hub_admin, name="api-hub-admin"),
    path("invitations/accept/", members_api.accept_invitation, name="api-invitation-accept"),
    path(HUB + "revisions/", history_api.hub_revisions, name="api-hub-revisions"),
    path(HUB + "revisions/<int:number>/", history_api.hub_revision, name="api-hub-revision"),
    path(
        HUB + "revisions/<int:number>/diff/",
        history_api.hub_revision_diff,
        name="api-hub-revision-diff",
    ),
    path(
        HUB + "revisions/<int:number>/rollback/",
        history_api.hub_revision_rollback,
        name="api-hub-revision-rollback",
    ),
    path(HUB + "activity/", history_api.hub_activity, name="api-hub-activity"),
    path(HUB + "bundle/", history_api.hub_bundle, name="api-hub-bundle"),
]
