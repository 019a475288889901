"""Pages of hubs and deployments, and the forges' webhooks.

`hub_urlpatterns` join the request pages in the `hubs` URL namespace
(portal/urls.py); `urlpatterns` are the `provisioning` namespace.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from provisioning.web import confirm, history, hooks, live, members, pages, webhooks

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
    path(
        "hubs/<slug:cluster>/<slug:name>/credentials/",
        pages.hub_credentials,
        name="hub_credentials",
    ),
    path("hubs/<slug:cluster>/<slug:name>/drift/", pages.hub_drift, name="hub_drift"),
    path("hubs/<slug:cluster>/<slug:name>/webhooks/", hooks.hub_webhooks, name="hub_webhooks"),
    path("operations/", pages.operations, name="operations"),
    path("operations/webhooks/", hooks.operations_webhooks, name="operations_webhooks"),
]

# A hub's members and portal admins, its history and activity, its bundle (issue 13).
HUB = "hubs/<slug:cluster>/<slug:name>/"
hub_urlpatterns += [
    path(HUB + "members/", members.members_page, name="hub_members"),
    path(HUB + "members/add/", members.member_add, name="hub_member_add"),
    path(HUB + "members/remove/", members.member_remove, name="hub_member_remove"),
    path(HUB + "members/preview/", members.members_preview, name="hub_members_preview"),
    path(HUB + "members/apply/", members.members_apply, name="hub_members_apply"),
    path(HUB + "members/export.csv", members.members_export, name="hub_members_export"),
    path(HUB + "members/deploy/", members.members_deploy, name="hub_members_deploy"),
    path(HUB + "members/discard/", members.members_discard, name="hub_members_discard"),
    path(HUB + "admins/invite/", members.admin_invite, name="hub_admin_invite"),
    path(HUB + "admins/<int:user_id>/remove/", members.admin_remove, name="hub_admin_remove"),
    path(
        HUB + "admins/invitations/<int:pk>/revoke/",
        members.invitation_revoke,
        name="hub_invitation_revoke",
    ),
    path(HUB + "history/", history.hub_history, name="hub_history"),
    path(HUB + "activity/", history.hub_activity, name="hub_activity"),
    path(HUB + "bundle.zip", history.hub_bundle, name="hub_bundle"),
    path("invitations/<str:token>/", members.invitation, name="invitation"),
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
