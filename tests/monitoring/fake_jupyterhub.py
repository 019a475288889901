"""A fake JupyterHub REST API for usage polls: `/hub/api/users` paginated as JupyterHub 5
answers it (`{items, _pagination}` when asked with its media type), token checked."""

from __future__ import annotations

import json
from typing import Any

from werkzeug import Request, Response

PAGINATED = "application/jupyterhub-pagination+json"


class FakeUsers:
    def __init__(self, users: list[dict[str, Any]], token: str, *, max_limit: int = 200) -> None:
        self.users = users
        self.token = token
        self.max_limit = max_limit
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(dict(request.args))
        if request.headers.get("Authorization") != f"token {self.token}":
            return Response(json.dumps({"status": 403, "message": "no"}), status=403)
        offset = int(request.args.get("offset", 0))
        limit = min(int(request.args.get("limit", 50)), self.max_limit)
        items = self.users[offset : offset + limit]
        if PAGINATED not in request.headers.get("Accept", ""):
            return Response(json.dumps(items), content_type="application/json")
        following = offset + limit
        body = {
            "items": items,
            "_pagination": {
                "offset": offset,
                "limit": limit,
                "total": len(self.users),
                "next": {"offset": following, "limit": limit, "url": "…"}
                if following < len(self.users)
                else None,
            },
        }
        return Response(json.dumps(body), content_type=PAGINATED)
