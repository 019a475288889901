"""The URL root: where each app's pages and API endpoints are mounted.

The one module that wires every app together (import-linter lets it).
"""

from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from events import api_urls as event_api
from events import urls as event_pages
from hubs import urls as hub_pages
from hubs.api import urls as hub_api
from monitoring import api_urls as monitoring_api
from monitoring import urls as monitoring_pages
from portal import apidocs
from provisioning.web import api_urls as provisioning_api
from provisioning.web import urls as provisioning_pages

# One sign-in form for everything: the admin's goes through allauth's (rate-limited).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", apidocs.api_root, name="api-root"),
    path("api/v1/docs/", apidocs.api_docs, name="api-docs"),
    path(
        "api/v1/",
        include(
            hub_api.urlpatterns
            + provisioning_api.urlpatterns
            + event_api.urlpatterns
            + monitoring_api.urlpatterns
        ),
    ),
    path("", include(event_pages)),
    path("", include(monitoring_pages)),
    path("", include(provisioning_pages)),
    # Request pages and hub pages share one namespace: {% url 'hubs:hub' ... %}.
    path("", include((hub_pages.urlpatterns + provisioning_pages.hub_urlpatterns, "hubs"))),
]

# JSON under /api/v1/, the usual pages elsewhere (portal/errors.py).
handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.not_found"
handler500 = "portal.errors.server_error"
