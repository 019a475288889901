"""What every endpoint under /api/v1/ shares: a careful JSON parser and strict booleans.

The parser is DRF's JSONParser with limits: a body larger than
DATA_UPLOAD_MAX_MEMORY_SIZE answers 413, one nested deeper than MAX_DEPTH
answers 400, and a string (or key) holding NUL or a lone surrogate, which no
database column or YAML file can keep, answers 400 naming the field. So no
body can reach the database or the renderer with something they cannot hold.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser

from portal.errors import declares_too_much
from portal.text import check_json

# Deep enough for any hub spec (auth.cilogon.idps[0].allowed_domains[0] is 5).
MAX_DEPTH = 20


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class JSONBodyParser(JSONParser):
    """JSON bodies, bounded in size and depth, with every string storable."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        context = parser_context or {}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = context.get("request")
        if request is not None and declares_too_much(request):
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error: the body nests more than {MAX_DEPTH} levels deep."
            ) from None
        except (ValueError, LookupError) as exc:
            raise exceptions.ParseError(f"JSON parse error: {exc}") from None
        problems = check_json(data, max_depth=MAX_DEPTH)
        if problems:
            raise exceptions.ValidationError(problems)
        return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false`, nothing else: "yes", "true", 1 and 0 are refused."""

    default_error_messages = {"invalid": "Must be a JSON boolean, true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")
        raise AssertionError("unreachable")  # fail() raises

    def __init__(self, **kwargs: Any) -> None:
        help_text = kwargs.pop("help_text", "")
        note = "A JSON boolean: strings and numbers are refused."
        kwargs["help_text"] = f"{help_text} {note}".strip()
        super().__init__(**kwargs)


# --- the errors in the OpenAPI document ----------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` says what went wrong; `errors` names each bad field "
    "(by its path, e.g. `auth.github.organizations[0]`); `state` is the object's state "
    "after a refused move (409).",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "state": {"type": "string"},
    },
    "required": ["detail"],
}
ERROR_TEXT = {
    "400": "The body or a query parameter is invalid; `errors` names each field.",
    "401": "No credentials, or a token that is wrong, expired or revoked.",
    "403": "Your role does not allow this.",
    "404": "Not found, or not yours to see (or a page past the last).",
    "409": "The object's state does not allow this now; `state` is its current state.",
    "413": "The body is larger than the portal takes.",
    "415": "The body is not JSON.",
    "429": "Too many failed token attempts from your address; wait a minute.",
}


def document_errors(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error answers each operation can give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if path.endswith("/schema/"):
                continue
            codes = ["400", "401", "403", "404", "429"]
            if method in ("post", "put", "patch"):
                codes += ["409", "413", "415"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": ERROR_TEXT[code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result
