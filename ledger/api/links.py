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

# (method, path, status) of the create → [(link name, method, path of the target, {parameter: expression})]
LINKS: dict[tuple[str, str, str], list[tuple[str, str, str, dict[str, str]]]] = {
    ("post", "/orgs/{org_id}/statement-accounts", "201"): [
        (
            "ImportsOfTheAccount",
            "get",
            "/orgs/{org_id}/statement-accounts/{account_id}/imports",
            {"org_id": "$request.path.org_id", "account_id": "$response.body#/id"},
        ),
        (
            "LinesOfTheAccount",
            "get",
            "/orgs/{org_id}/statement-accounts/{account_id}/lines",
            {"org_id": "$request.path.org_id", "account_id": "$response.body#/id"},
        ),
    ],
    ("post", "/orgs/{org_id}/statements", "201"): [
        (
            "LinesOfTheImport",
            "get",
            "/orgs/{org_id}/statement-imports/{import_id}/lines",
            {"org_id": "$request.path.org_id", "import_id": "$response.body#/import_id"},
        ),
        (
            "VoidTheImport",
            "post",
            "/orgs/{org_id}/statement-imports/{import_id}/void",
            {"org_id": "$request.path.org_id", "import_id": "$response.body#/import_id"},
        ),
    ],
    ("post", "/orgs/{org_id}/leases", "201"): [
        (
            name,
            method,
            f"/orgs/{{org_id}}/leases/{{contract_id}}{tail}",
            {
                "org_id": "$request.path.org_id",
                "contract_id": "$response.body#/id",
            },
        )
        for name, method, tail in (
            ("TheContract", "get", ""),
            ("RenewTheContract", "post", "/renew"),
            ("AmendTheContract", "post", "/amend"),
            ("TerminateTheContract", "post", "/terminate"),
        )
    ],
    ("post", "/orgs/{org_id}/years/{year}/plans", "201"): [
        (
            name,
            method,
            f"/orgs/{{org_id}}/plans/{{plan_id}}{tail}",
            {
                "org_id": "$request.path.org_id",
                "plan_id": "$response.body#/id",
            },
        )
        for name, method, tail in (
            ("ThePlan", "get", ""),
            ("DryRunThePlan", "get", "/dry-run"),
            ("ApproveThePlan", "post", "/approve"),
            ("ExecuteThePlan", "post", "/execute"),
        )
    ],
    ("post", "/pos/sales", "201"): [
        ("TheSale", "get", "/pos/sales/{sale_id}", {"sale_id": "$response.body#/id"}),
        ("RefundTheSale", "post", "/pos/sales/{sale_id}/refunds", {"sale_id": "$response.body#/id"}),
    ],
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
