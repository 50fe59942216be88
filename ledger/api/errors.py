"""Domain errors → HTTP, in one place. Every 4xx and 5xx has the one shape
``{"error": {"code", "message", "field"}}``."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.access.messages import field_path
from ledger.books.errors import Busy, LedgerError

log = logging.getLogger("cunshe")
PROBLEMS_SHOWN = 20


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, e.g. unbalanced_entry")
    message: str
    field: str | None = Field(description="the offending field, e.g. lines[2].credit; null if none")


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answers (a 422 adds ``details``, one per invalid field)."""

    error: ErrorDetail


def error_body(code: str, message: str, field: str | None = None, **extra: object) -> dict:
    return {"error": {"code": code, "message": message, "field": field, **extra}}


def document_errors(app: FastAPI) -> None:
    """Say in the OpenAPI what the handlers below really send: every 4xx (the 422 included, which FastAPI
    documents as its own ``{"detail": [...]}``) is an ``ErrorBody``."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        doc = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas["ErrorBody"] = doc
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if method not in ("get", "put", "post", "patch", "delete"):
                    continue
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid request", "content": content}
                responses.setdefault(
                    "4XX", {"description": "Refused (the one error shape)", "content": content}
                )
        app.openapi_schema = schema
        return schema

    # FastAPI's documented way to a custom schema is to replace this method; mypy refuses any such assignment.
    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    document_errors(app)

    @app.exception_handler(LedgerError)
    async def _ledger_error(_request: Request, exc: LedgerError) -> JSONResponse:
        # A refused login (TooManyAttempts) says when to come back; a busy database, in a second.
        retry_after = getattr(exc, "retry_after", None) or (1 if isinstance(exc, Busy) else None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        extra: dict[str, object] = {}
        problems = getattr(exc, "problems", None)
        if problems:  # a statement file's problems: how many, and the first ones with line and column
            count = getattr(exc, "problem_count", len(problems))
            extra = {"problem_count": count, "problems": problems[:PROBLEMS_SHOWN]}
            problems_url = getattr(exc, "problems_url", None)
            if problems_url:  # all of them, as CSV (ledger.reconcile.refusals)
                extra["problems_url"] = problems_url
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field, **extra),
            status_code=exc.http_status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"type": "invalid", "msg": "invalid request", "loc": ()}
        code = str(first.get("type", "invalid"))
        if code in ("missing", "json_invalid", "model_attributes_type", "dict_type"):
            code = "invalid" if code != "missing" else "missing_field"
        details = [
            {"field": field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "")} for e in errors
        ]
        message = str(first.get("msg", "invalid request"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        return JSONResponse(
            error_body(code, message, field_path(tuple(first.get("loc", ()))), details=details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OverflowError)
    async def _number_too_large(_request: Request, exc: OverflowError) -> JSONResponse:
        # An id or amount beyond 64 bits reaches the database as a bound parameter: SQLite refuses it
        # with OverflowError before running the statement. No row can hold it, so the request is invalid.
        return JSONResponse(error_body("out_of_range", "a number is too large (at most 64 bits)"), 422)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL's "bigint out of range" (22003) is the same mistake as above; any other is unexpected.
        if getattr(exc.orig, "sqlstate", None) == "22003":
            return JSONResponse(error_body("out_of_range", "a number is too large (at most 64 bits)"), 422)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "an unexpected error; nothing was written"), status_code=500
        )
