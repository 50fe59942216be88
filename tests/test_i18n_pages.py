"""Words that reach people through the catalogues too (issue 22): the public ``/verify`` page in the reader's
language (the other one after it), and FastAPI's request validation (pydantic's English) on a page in the
page's language, while the API's JSON keeps its code, field and pydantic's message."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import County
from tests.test_web import log_in


def test_the_verify_page_speaks_the_readers_language_first(client: TestClient) -> None:
    zh = client.get("/verify/0000000000")
    assert zh.status_code == 404 and '<html lang="zh-CN">' in zh.text
    assert "没有这个封账码。 No checkpoint has this code." in zh.text
    en = client.get("/verify/0000000000?lang=en")
    assert en.status_code == 404 and '<html lang="en">' in en.text
    assert "No checkpoint has this code. 没有这个封账码。" in en.text


def test_a_request_the_page_cannot_parse_is_refused_in_the_pages_language(
    county: County, client: TestClient
) -> None:
    log_in(client, "admin")
    org = county.ids["dingzikou"]
    zh = client.get(f"/web/orgs/{org}/journal?page=0")
    assert zh.status_code == 422 and "page 应不小于 1" in zh.text and "greater than" not in zh.text
    client.get("/web/?lang=en")
    en = client.get(f"/web/orgs/{org}/journal?page=abc")
    assert en.status_code == 422 and "page should be a whole number" in en.text
    long = client.get(f"/web/orgs/{org}/accounts/suggest?q={'x' * 41}")
    assert long.status_code == 422 and "q has at most 40 characters" in long.text
    api = client.get(f"/api/v1/orgs/{org}/entries?limit=abc", headers=county.auth("admin"))
    assert api.status_code == 422 and "valid integer" in api.text  # the API's JSON: pydantic's English
