"""Every 4xx/5xx answer in one JSON shape: ``{"error": {"code", "message", "details"?}}``.

Handlers turn FastAPI's validation errors (with the offending input left out, so a 100 KB
id is never echoed back), HTTP errors, shopmind errors and unexpected exceptions into that
shape; :data:`ERROR_RESPONSES` documents it in the OpenAPI schema of every route.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopmind.errors import NotFittedError, ShopmindError

log = logging.getLogger("shopmind.serving")

MAX_DETAILS = 20


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable kind, e.g. unauthenticated, invalid_request")
    message: str = Field(description="what went wrong and how to fix it")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="per-field problems (location, message, type), at most 20"
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": {
                        "code": "forbidden",
                        "message": "Role 'agent' may not use events.write.",
                    }
                }
            ]
        }
    }


_DESCRIPTIONS = {
    400: "malformed request (e.g. the body is not JSON)",
    401: "missing, unknown, expired or revoked API key",
    403: "the key's role may not use this route",
    404: "unknown resource (item, session, key)",
    413: "request body over the size limit",
    422: "request valid JSON but not valid for this route",
    429: "rate limit of the key exceeded (see Retry-After)",
    503: "the service is busy or not ready (see Retry-After)",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in _DESCRIPTIONS.items()
}

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: status, code, message, optional details and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return ErrorResponse.model_validate({"error": body}).model_dump_json(exclude_none=True).encode()


def error_response(error: ApiError) -> JSONResponse:
    content: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        content["details"] = error.details
    return JSONResponse({"error": content}, status_code=error.status, headers=error.headers)


def library_code(exc: ShopmindError) -> str:
    """The API code of a library refusal: ``no_model`` for a model not trained yet (503, as
    documented), else the error's kind in snake_case (``AnalyticsError`` -> ``analytics_error``),
    like every other code of the API."""
    if isinstance(exc, NotFittedError):
        return "no_model"
    words = r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"  # DPError -> DP_Error
    return re.sub(words, "_", type(exc).__name__).lower()


def _clip(value: Any, limit: int = 100) -> Any:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _location(error: Any) -> list[Any]:
    """Where a validation error is; the name of an unknown field is the client's input and
    is never echoed (``<unknown field>``)."""
    loc = [_clip(part) for part in error.get("loc", ())][:10]
    if error.get("type") == "extra_forbidden" and loc:
        loc[-1] = "<unknown field>"
    return loc


def _validation(exc: RequestValidationError) -> ApiError:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return ApiError(400, "The body is not valid JSON.", code="malformed_json")
    details = [
        {
            "loc": _location(e),
            "msg": _clip(e.get("msg", ""), 200),
            "type": _clip(e.get("type", ""), 60),
        }
        for e in errors[:MAX_DETAILS]
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"]) or "request"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return ApiError(422, f"{where}: {first['msg']}{more}", details=details)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_validation(exc))

    async def http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "")
        return error_response(
            ApiError(exc.status_code, message, headers=dict(exc.headers or {}) or None)
        )

    async def shopmind(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ShopmindError)
        status = 503 if isinstance(exc, NotFittedError) else 422
        return error_response(ApiError(status, str(exc), code=library_code(exc)))

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(
            ApiError(500, "Unexpected server error; it was logged. Retry or report it.")
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(ShopmindError, shopmind)
    app.add_exception_handler(Exception, unexpected)
