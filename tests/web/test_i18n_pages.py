"""Words that reach people through the catalogues too (issue 22): the public ``/verify`` page in the reader's
language (the other one after it), and FastAPI's request validation (pydantic's English) on a page in the
page's language, while the API's JSON keeps its code, field and pydantic's message."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.factories.county import County
from tests.factories.web import log_in


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
    assert en.status_code == 422 and "could not be read: it should be a whole number" in en.text
    long = client.get(f"/web/orgs/{org}/accounts/suggest?q={'x' * 41}")
    assert long.status_code == 422 and "q has at most 40 characters" in long.text
    api = client.get(f"/api/v1/orgs/{org}/entries?limit=abc", headers=county.auth("admin"))
    assert api.status_code == 422 and "valid integer" in api.text  # the API's JSON: pydantic's English


UNITS = ("公斤", "千克", "斤", "克", "两")  # the units a scale's barcodes name in till.js: data, not words


def test_the_till_speaks_from_the_catalogues_page_and_script_alike(client: TestClient) -> None:
    """The till's page words and the words its script shows (a JSON block of every ``till_js_*`` key, which
    ``till.js`` reads through ``tr``) come from the catalogues, in the cashier's language."""
    zh = client.get("/till/")
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text and "收银员登录" in zh.text
    block = re.search(r'<script type="application/json" id="till-words">(.*?)</script>', zh.text, re.S)
    assert block is not None
    words = json.loads(block[1])
    assert (
        words["till_js_qty_missing"] == "请输入数量"
        and words["till_js_q_counts"] == "{pending} 笔待上传，{rejected} 笔被拒。"
    )
    assert all(key.startswith("till_js_") and word for key, word in words.items())
    en = client.get("/till/?lang=en")
    assert '<html lang="en">' in en.text and "Cashier login" in en.text and "收银员登录" not in en.text
    en_words = json.loads(re.search(r'id="till-words">(.*?)</script>', en.text, re.S)[1])  # type: ignore[index]
    assert en_words.keys() == words.keys() and en_words["till_js_qty_missing"] == "Enter a quantity"
    script = client.get("/till/static/till.js").text
    used = set(re.findall(r'\btr\("(till_js_\w+)"', script))
    assert used == set(words), used ^ set(words)  # every word the script shows is in the page, and no more
    code = script.split("*/", 1)[1]  # after the header comment
    for unit in UNITS:
        code = code.replace(f'"{unit}"', "")
    assert not re.search(r"[\u4e00-\u9fff]", code)
