"""OpenAPI links: where a create answers an id another operation takes.

A client (and Schemathesis' stateful testing, ``make fuzz``) follows them: the statement account a POST
made → its imports and lines; an import → its lines and its void; a lease contract → renew, amend,
terminate; a distribution plan → dry-run, approve, execute; a sale → its refunds. Each link names its
target by ``operationId`` (read from the built schema, so a renamed route function cannot leave a link
dangling: a missing target raises when the schema is built) and maps the target's path parameters to
runtime expressions of the create's request and response.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

API = "/api/v1"

# (link name, method, path of the target, {parameter: expression})
Link = tuple[str, str, str, dict[str, str]]


def _to_created(base: str, id_field: str, targets: tuple[tuple[str, str, str], ...]) -> list[Link]:
    """Links from a create to operations on what it made, at ``base`` + each target's tail: the parameter
    that ends ``base`` is the answer's ``id_field``; ``{org_id}``, where the path has one, the create's."""
    id_param = base.rsplit("{", 1)[1].rstrip("}")
    parameters = {id_param: f"$response.body#/{id_field}"}
    if "{org_id}" in base:
        parameters = {"org_id": "$request.path.org_id", **parameters}
    return [(name, method, base + tail, parameters) for name, method, tail in targets]


# (method, path, status) of the create → its links
LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("post", "/orgs/{org_id}/statement-accounts", "201"): _to_created(
        "/orgs/{org_id}/statement-accounts/{account_id}",
        "id",
        (("ImportsOfTheAccount", "get", "/imports"), ("LinesOfTheAccount", "get", "/lines")),
    ),
    ("post", "/orgs/{org_id}/statements", "201"): _to_created(
        "/orgs/{org_id}/statement-imports/{import_id}",
        "import_id",
        (("LinesOfTheImport", "get", "/lines"), ("VoidTheImport", "post", "/void")),
    ),
    ("post", "/orgs/{org_id}/leases", "201"): _to_created(
        "/orgs/{org_id}/leases/{contract_id}",
        "id",
        (
            ("TheContract", "get", ""),
            ("RenewTheContract", "post", "/renew"),
            ("AmendTheContract", "post", "/amend"),
            ("TerminateTheContract", "post", "/terminate"),
        ),
    ),
    ("post", "/orgs/{org_id}/years/{year}/plans", "201"): _to_created(
        "/orgs/{org_id}/plans/{plan_id}",
        "id",
        (
            ("ThePlan", "get", ""),
            ("DryRunThePlan", "get", "/dry-run"),
            ("ApproveThePlan", "post", "/approve"),
            ("ExecuteThePlan", "post", "/execute"),
        ),
    ),
    ("post", "/pos/sales", "201"): _to_created(
        "/pos/sales/{sale_id}",
        "id",
        (("TheSale", "get", ""), ("RefundTheSale", "post", "/refunds")),
    ),
}


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the ``links`` of ``LINKS`` on the creates' responses (in place)."""
    paths = schema.get("paths", {})
    for (method, path, status), links in LINKS.items():
        response = paths[API + path][method]["responses"][status]
        found = response.setdefault("links", {})
        for name, target_method, target_path, parameters in links:
            target = paths[API + target_path][target_method]
            found[name] = {"operationId": target["operationId"], "parameters": dict(parameters)}
    return schema


def document_links(app: FastAPI) -> None:
    """Add the links to the app's OpenAPI once it is built (after ``ledger.api.errors.document_errors``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = add_links(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
