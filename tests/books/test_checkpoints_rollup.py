"""A street's combined statements carry the 封账码 of every org in them — only once every one of those orgs is
closed and signed for the month (issue 21, what was left): each code opens ``/verify/{code}``."""

from __future__ import annotations

import io
import re

import pdfplumber
from fastapi.testclient import TestClient

from ledger.books.orgs import get_org
from ledger.db.engine import read_tx
from reports.queries import orgs_below
from tests.factories.checkpoints import close, code_of, entry, post
from tests.factories.county import County


def test_a_street_roll_up_carries_every_orgs_code_once_all_are_closed(
    county: County, client: TestClient
) -> None:
    street = county.ids["heping"]
    with read_tx(county.engine) as conn:
        orgs = [(o.id, o.code) for o in orgs_below(conn, street, standard="collective")]
        assert get_org(conn, street).kind == "street"
    assert len(orgs) >= 2
    for org, _ in orgs:
        post(client, county, org, entry("2025-02-05", "300.00"))
    url = f"/api/v1/orgs/{street}/reports/income-statement"
    query = "?period=2025-02&standard=collective"
    h = county.auth("officer")
    for org, _ in orgs[:-1]:
        close(client, county, org, "2025-02")
    partly = client.get(f"{url}.json{query}", headers=h)
    assert partly.status_code == 200, partly.text
    assert partly.json()["checkpoints"] == [] and "封账码" not in partly.json()["verification"]
    close(client, county, orgs[-1][0], "2025-02")
    sealed = client.get(f"{url}.json{query}", headers=h).json()
    codes = {}
    with read_tx(county.engine) as conn:
        from ledger.books.checkpoints import current_code

        for org, org_code in orgs:
            codes[org_code] = current_code(conn, org, "2025-02")
    assert sealed["checkpoints"] == [{"org": c, "code": codes[c]} for _, c in orgs]
    pdf = client.get(f"{url}.pdf{query}", headers=h)
    assert pdf.status_code == 200, pdf.text[:300]
    with pdfplumber.open(io.BytesIO(pdf.content)) as document:
        flat = re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in document.pages))
    assert "封账码" in flat
    for org_code, code in codes.items():
        assert org_code in flat and code in flat  # the footer may wrap between an org and its code
        assert "still agree" in client.get(f"/verify/{code}").text
    assert code_of(client, county, "2025-02") == codes["dingzikou"]
