from __future__ import annotations

app_name = "provisioning"

urlpatterns: list[object] = []
