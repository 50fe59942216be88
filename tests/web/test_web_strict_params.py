"""The pages' month and day query parameters go through the API's validator (``ledger.params``): a malformed
month or day, a range backwards or a year outside the org's books is a 422 page in the reader's language —
never a 500, and never an empty page for a month the books cannot have. The books begin in 2025."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories.county import County
from tests.factories.web import log_in

MONTH_PAGES = (
    "/web/orgs/{org}?period={value}",
    "/web/orgs/{org}/reports?period={value}",
    "/web/orgs/{org}/reports/balance-sheet.pdf?period={value}",
    "/web/orgs/{org}/ledger?account=102&period={value}",
    "/web/orgs/{org}/statements?period={value}",
    "/web/orgs/{org}/journal?from={value}",
    "/web/orgs/{org}/journal?from=2025-03&to={value}",
)
DAY_PAGES = ("/web/orgs/{org}/leases?as_of={value}",)

# (month, day, words on the page in Chinese, in English)
BAD = [
    ("abc", "abc", ("如 2026-01",), ("YYYY-MM",)),
    ("2025-13", "2025-02-30", ("如 2026-01",), ("YYYY-MM",)),
    ("1999-01", "1999-01-31", ("不在本单位账簿的年度之内", "1999"), ("is outside this org", "(2025 to ")),
]


@pytest.mark.parametrize(("month", "day", "zh", "en"), BAD, ids=["malformed", "no-such-month", "outside"])
def test_a_bad_month_or_day_on_a_page_is_a_422_in_the_readers_language(
    county: County,
    books_2025: County,
    client: TestClient,
    month: str,
    day: str,
    zh: tuple[str, ...],
    en: tuple[str, ...],
) -> None:
    log_in(client, "admin")
    org = county.ids["dingzikou"]
    urls = [p.format(org=org, value=month) for p in MONTH_PAGES]
    urls += [p.format(org=org, value=day) for p in DAY_PAGES]
    for lang, words in (("zh", zh), ("en", en)):
        client.get(f"/web/?lang={lang}")
        for url in urls:
            answer = client.get(url)
            assert answer.status_code == 422, (url, answer.status_code, answer.text[:300])
            assert answer.headers["content-type"].startswith("text/html"), url
            assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in answer.text, url
            for word in words:
                if "as_of" in url:  # a day, not a month
                    word = word.replace("YYYY-MM", "YYYY-MM-DD").replace("2026-01", "2026-01-31")
                assert word in answer.text, (lang, url, word)
            if lang == "zh":
                assert "is outside" not in answer.text and "is before" not in answer.text, url


def test_a_range_backwards_on_the_journal_is_refused_beside_its_field(
    county: County,
    books_2025: County,
    client: TestClient,
) -> None:
    log_in(client, "admin")
    org = county.ids["dingzikou"]
    answer = client.get(f"/web/orgs/{org}/journal?from=2025-06&to=2025-03")
    assert answer.status_code == 422
    assert 'id="error-journal-to"' in answer.text  # beside 至
    assert "截止期间（2025-03）早于起始期间（2025-06）" in answer.text
    good = client.get(f"/web/orgs/{org}/journal?from=2025-03&to=2025-06")
    assert good.status_code == 200 and "门面租金" in good.text
