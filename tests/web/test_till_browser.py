"""The cashier's till (/till) in a real browser: Debian's Chromium driven by Playwright against the real app
under uvicorn, on a SQLite file and on PostgreSQL (issue 18).

One test is the cashier's whole day: log in, open a shift, scan three barcodes (one a weighed item typed
by weight, one a scale label with the weight inside), split the tender, print; go offline, sell 20, reload,
sell 5, come back: exactly 25 sales, once each; the network cut in the middle of an upload: still once;
refund a line by scanning the receipt's number; close the shift with the counted cash: over/short 0.00 and
the voucher ties. The other covers bad input, an expired login while offline, and the phone layout.
``CUNSHE_SCREENSHOTS=docs`` writes the README's screenshots.
"""

from __future__ import annotations

import contextlib
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, update

from ledger.access.auth import token_t
from ledger.books import county_time
from ledger.books.verify import verify_org
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Account, JournalEntry, JournalLine
from pos.models import PosSale
from tests.factories.browser import PASSWORD, SHOTS, LiveServer, require_chromium

pytestmark = pytest.mark.browser
sync_api = require_chromium()

PRODUCTS = [
    # sku, barcode, name, unit, price
    ("EGG", "6901000000035", "土鸡蛋", "个", "1.50"),
    ("RICE", "6901000000028", "高山大米", "kg", "3.98"),
    ("PORK", "2512345", "猪肉", "kg", "26.00"),  # a scale label: 25 12345 WWWWW C, weight in grams
    ("EGG2", None, "鸡蛋", "斤", "6.50"),
    ("OIL", "6901000000042", "菜籽油", "桶", "68.00"),
    ("BEEF", "2012346", "牛肉", "kg", "40.00"),  # a price label: 20 12346 PPPPP C, the price in fen
]
# The scale label: 1.234 kg of pork (EAN-13 check digit computed below).
PORK_LABEL = "251234501234"


# Wraps the page's fetch: the next request whose path ends with the argument reaches the server, and its
# answer (the status kept in ``window.lostAnswers``) is replaced by the error a reset connection gives.
LOSE_THE_NEXT_ANSWER = """(suffix) => {
  const real = window.fetch;
  window.lostAnswers = [];
  window.fetch = async (input, init) => {
    const path = new URL(String(input), location.href).pathname;
    if (path.endsWith(suffix) && window.lostAnswers.length === 0) {
      const answer = await real(input, init);
      window.lostAnswers.push(answer.status);
      throw new TypeError("Failed to fetch");
    }
    return real(input, init);
  };
}"""


def ean13(code12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code12))
    return code12 + str((10 - total % 10) % 10)


def seed_shop(live: LiveServer) -> dict[str, int]:
    """The company's catalogue, stock and a credit customer, through the real API as the officer."""
    county = live.county
    company = county.ids["company"]
    store = county.stores["store1"]
    with httpx.Client(base_url=live.url, headers=county.auth("officer"), timeout=30) as http:
        body = [
            {"sku": s, "barcode": b, "name": n, "unit": u, "price": p, "category": "食品"}
            for s, b, n, u, p in PRODUCTS
        ]
        assert http.put(f"/api/v1/pos/orgs/{company}/products", json=body).status_code == 200
        r = http.post(
            f"/api/v1/pos/stores/{store}/purchases",
            json={
                "date": county_time.today().isoformat(),
                "supplier": "示范村一合作社",
                "lines": [
                    {"sku": "EGG", "quantity": "500", "cost": "500.00"},
                    {"sku": "RICE", "quantity": "200", "cost": "600.00"},
                    {"sku": "PORK", "quantity": "50", "cost": "1000.00"},
                    {"sku": "EGG2", "quantity": "100", "cost": "400.00"},
                    {"sku": "OIL", "quantity": "20", "cost": "1000.00"},
                    {"sku": "BEEF", "quantity": "20", "cost": "600.00"},
                ],
            },
        )
        assert r.status_code == 201, r.text
        r = http.post(
            f"/api/v1/pos/orgs/{company}/customers",
            json={
                "name": "第一中学食堂",
                "kind": "school_canteen",
                "channel": "school",
                "credit_limit": "500.00",
            },
        )
        assert r.status_code == 201, r.text
    return {"company": company, "store": store}


# Wraps the page's fetch: the next request whose path ends with the argument waits until the outbox has been
# counted (as the upload's count does whenever it finishes), so the count sees that sale in the outbox.
COUNT_WHILE_SENDING = """(suffix) => {
  const real = window.fetch;
  let counted = false;
  window.fetch = async (input, init) => {
    const path = new URL(String(input), location.href).pathname;
    if (path.endsWith(suffix) && !counted) {
      counted = true;
      await countOutbox();
    }
    return real(input, init);
  };
}"""


def shot(page: object, name: str, tmp_path: Path) -> Path:
    path = (SHOTS or tmp_path) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def till_login(page: object, live: LiveServer, username: str = "cashier") -> None:
    page.goto(live.url + "/till/")  # type: ignore[attr-defined]
    page.get_by_label("用户名").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("密码").fill(PASSWORD)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]


def scan(page: object, code: str) -> None:
    """A keyboard-wedge scanner: the code typed into the focused field, then Enter."""
    page.keyboard.type(code)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]


def wait_view(page: object, view: str) -> None:
    page.locator(f"#{view}-view").wait_for(state="visible")  # type: ignore[attr-defined]


def sell_eggs(page: object, n_eggs: int, cash: str) -> None:
    """One quick cash sale by keyboard: n× eggs, F4, the cash, Enter, then Enter for the next sale."""
    wait_view(page, "sell")
    scan(page, f"{n_eggs}*6901000000035")
    page.keyboard.press("F4")  # type: ignore[attr-defined]
    wait_view(page, "pay")
    page.keyboard.type(cash)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    wait_view(page, "receipt")
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    wait_view(page, "sell")


def queue_count(page: object, expect: int | None = None) -> int:
    """The count the till shows of sales waiting to go up. The till writes a sale to IndexedDB and then
    updates the counter, so with ``expect`` it waits (up to 5 s) for the counter to reach that number:
    the count is asserted, not the speed of the browser's storage."""
    if expect is not None:
        with contextlib.suppress(sync_api.TimeoutError):  # then the caller's assert shows the count it saw
            page.wait_for_function(  # type: ignore[attr-defined]
                "n => document.querySelector('#queue-count')?.textContent.trim() === String(n)",
                arg=expect,
                timeout=5000,
            )
    return int(page.locator("#queue-count").inner_text())  # type: ignore[attr-defined]


def sales_in_db(engine: Engine) -> tuple[int, int]:
    """(rows of kind sale, distinct idempotency keys among them)."""
    t = PosSale.__table__
    with read_tx(engine) as conn:
        n = conn.execute(select(func.count()).where(t.c.kind == "sale")).scalar_one()
        keys = conn.execute(select(func.count(func.distinct(t.c.idempotency_key))).where(t.c.kind == "sale"))
        return n, keys.scalar_one()


def test_a_cashiers_day_online_and_offline(live: LiveServer, browser: object, tmp_path: Path) -> None:
    ids = seed_shop(live)
    engine = live.county.engine
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    till_login(page, live)
    wait_view(page, "open")
    page.keyboard.type("500.00")
    page.keyboard.press("Enter")
    wait_view(page, "sell")
    assert page.locator("#store-name").inner_text() == "村社联动超市一号店"

    # Three scans: eggs (×1), rice (weighed: the till asks for the weight), pork by its scale label.
    scan(page, "6901000000035")
    scan(page, "6901000000028")
    page.locator("#qty-input").wait_for()
    page.keyboard.type("2.35")
    page.keyboard.press("Enter")
    scan(page, ean13(PORK_LABEL))
    rows = page.locator("#cart-body tr")
    assert rows.count() == 3
    assert rows.nth(1).locator(".qty").inner_text() == "2.35kg"
    assert rows.nth(2).locator(".qty").inner_text() == "1.234kg"
    # 1.50 + 9.35 (2.35 × 3.98 = 9.353) + 32.08 (1.234 × 26.00 = 32.084) = 42.93
    assert page.locator("#total").inner_text() == "42.93"
    shot(page, "till-1024-sale", tmp_path)

    # Split tender: 20.00 by WeChat, 50.00 cash → change 27.07, shown big.
    page.keyboard.press("F4")
    wait_view(page, "pay")
    page.get_by_label("微信支付", exact=True).fill("20.00")
    page.get_by_label("现金", exact=True).fill("50.00")
    assert page.locator("#pay-change").inner_text() == "27.07"
    shot(page, "till-1024-pay", tmp_path)
    page.get_by_label("现金", exact=True).press("Enter")
    wait_view(page, "receipt")
    assert page.locator("#receipt-change").inner_text() == "27.07"
    receipt = page.locator("#receipt").inner_text()
    assert "猪肉" in receipt and "42.93" in receipt and "微信支付" in receipt
    receipt_no = page.locator("#receipt-status").inner_text().split("：")[1]
    shot(page, "till-1024-receipt", tmp_path)
    # Print: the receipt stylesheet leaves the receipt alone on a 58 mm page.
    page.evaluate("window.__printed = 0; window.print = () => { window.__printed += 1; }; 0")
    page.keyboard.press("p")
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    assert page.locator("#print-area .receipt").is_visible()
    assert not page.locator("#receipt-view").is_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    import io

    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        first = doc.pages[0]
        assert abs(first.width - 58 / 25.4 * 72) < 2  # 58 mm wide
        text = unicodedata.normalize("NFKC", first.extract_text())  # CJK radicals → characters
        assert "猪肉" in text and "找零 27.07" in text and receipt_no in text
    page.emulate_media(media="screen")
    page.keyboard.press("Enter")
    wait_view(page, "sell")
    assert sales_in_db(engine) == (1, 1)

    # Offline: 20 sales, a reload, 5 more; nothing goes up, the screen counts them.
    context.set_offline(True)
    for _ in range(20):
        sell_eggs(page, 2, "3.00")
    assert queue_count(page, 20) == 20
    # The last offline receipt, from the till's own copy: the sale's key as its barcode, the VAT inside.
    page.keyboard.press("F10")
    wait_view(page, "queue")
    page.get_by_role("button", name="上一张小票").press("Enter")
    wait_view(page, "receipt")
    offline_receipt = page.locator("#receipt").inner_text()
    assert "离线，待上传" in offline_receipt and "其中税额" in offline_receipt and "0.03" in offline_receipt
    page.keyboard.press("Enter")
    wait_view(page, "sell")
    page.reload()
    wait_view(page, "sell")
    assert page.evaluate("navigator.serviceWorker.controller !== null")  # the PWA's worker serves the page
    assert queue_count(page, 20) == 20
    for _ in range(5):
        sell_eggs(page, 2, "3.00")
    assert queue_count(page, 25) == 25
    assert sales_in_db(engine) == (1, 1)
    shot(page, "till-1024-offline", tmp_path)
    # Closing the shift waits for the queue: offline, the till says why it cannot.
    page.keyboard.press("F9")
    wait_view(page, "close")
    sync_api.expect(page.locator("#close-wait")).to_contain_text("还有 25 笔销售没有上传（网络不通）")
    assert page.locator("#close-confirm").is_disabled()
    page.keyboard.press("Escape")
    wait_view(page, "sell")
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    sync_api.expect(page.locator("#queue-count")).to_have_text("0", timeout=20000)
    assert sales_in_db(engine) == (26, 26)

    # The network cut in the middle of an upload: the server commits, the answer never arrives.
    context.set_offline(True)
    for _ in range(3):
        sell_eggs(page, 1, "1.50")
    cut: list[int] = []

    def cut_once(route: object) -> None:
        if not cut:
            response = route.fetch()  # type: ignore[attr-defined]  # the server commits the batch…
            cut.append(response.status)
            route.abort("connectionreset")  # type: ignore[attr-defined]  # …and the answer is lost
        else:
            route.continue_()  # type: ignore[attr-defined]

    page.route("**/api/v1/pos/sales:batch", cut_once)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    sync_api.expect(page.locator("#queue-count")).to_have_text("0", timeout=30000)
    assert cut == [200]
    assert sales_in_db(engine) == (29, 29)
    page.unroute("**/api/v1/pos/sales:batch")

    # Refund one line of the first sale: scan its receipt number, take back one egg (not two).
    scan(page, receipt_no)
    wait_view(page, "refund")
    page.get_by_label("退 土鸡蛋").fill("2")
    page.keyboard.press("Enter")
    assert "最多可退 1" in page.locator("#refund-error").inner_text()
    page.get_by_label("退 土鸡蛋").fill("1")
    page.get_by_label("原因").fill("蛋壳破损")
    page.keyboard.press("Enter")
    wait_view(page, "receipt")
    assert "退货单" in page.locator("#receipt").inner_text()
    page.keyboard.press("Enter")
    # An offline receipt's barcode is the sale's key: scanned, it finds the sale the upload recorded.
    with read_tx(engine) as conn:
        t = PosSale.__table__
        offline_key = conn.execute(
            select(t.c.idempotency_key).where(t.c.kind == "sale").order_by(t.c.id.desc()).limit(1)
        ).scalar_one()
    assert offline_key.startswith("till-")
    wait_view(page, "sell")
    scan(page, offline_key)
    wait_view(page, "refund")
    sync_api.expect(page.locator("#refund-sale")).to_contain_text("合计 1.50")
    page.get_by_label("退 土鸡蛋").fill("1")
    page.keyboard.press("Enter")
    wait_view(page, "receipt")
    assert "退货单" in page.locator("#receipt").inner_text()
    page.keyboard.press("Enter")

    # A pay-in and a payout with their reasons.
    wait_view(page, "sell")
    page.keyboard.press("F8")
    wait_view(page, "cash")
    page.get_by_label("金额（元）").fill("100.00")
    page.get_by_label("事由").fill("补零钱")
    # The answer to the pay-in is lost on the way back: Enter again records it once (its key is kept).
    # The loss is made in the page's own fetch (the server answers, the till is told the connection
    # reset): CI once saw the till's POST get past a Playwright route here and record at the first Enter.
    page.evaluate(LOSE_THE_NEXT_ANSWER, "/cash-moves")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#cash-error")).to_contain_text("网络中断")
    page.keyboard.press("Enter")
    wait_view(page, "sell")
    assert page.evaluate("window.lostAnswers") == [201]
    page.keyboard.press("F8")
    page.get_by_label("类型").select_option("payout")
    page.get_by_label("金额（元）").fill("30.00")
    page.get_by_label("事由").fill("买塑料袋")
    page.get_by_label("事由").press("Enter")
    wait_view(page, "sell")

    # Close: expected = 500 float + 22.93 (50 − 27.07) + 25 × 3.00 + 3 × 1.50 − 1.50 refunded in cash
    # pro rata… the till shows it; the cashier counts the same.
    page.keyboard.press("F9")
    wait_view(page, "close")
    sync_api.expect(page.locator("#close-expected")).not_to_have_text("—")
    expected = page.locator("#close-expected").inner_text()
    page.get_by_label("实点现金（元）").fill(expected)
    assert page.locator("#close-over").inner_text() == "0.00"
    shot(page, "till-1024-close", tmp_path)
    page.keyboard.press("Enter")
    wait_view(page, "report")
    report = page.locator("#report").inner_text()
    assert "长短款" in report and "0.00" in report
    assert "存入 100.00" in " ".join(report.split()) and "取出 30.00" in " ".join(report.split())
    shot(page, "till-1024-report", tmp_path)

    # The voucher ties: one balanced entry, its takings = the shift's sales less the refund, chain intact.
    with read_tx(engine) as conn:
        entry_t, line_t = JournalEntry.__table__, JournalLine.__table__
        entry = conn.execute(
            select(entry_t.c.id).where(
                entry_t.c.org_id == ids["company"], entry_t.c.source_ref.like("shift:%")
            )
        ).scalar_one()
        debit, credit = conn.execute(
            select(func.sum(line_t.c.debit_fen), func.sum(line_t.c.credit_fen)).where(
                line_t.c.entry_id == entry
            )
        ).one()
        assert debit == credit
        sale_t = PosSale.__table__
        takings = conn.execute(select(func.sum(sale_t.c.total_fen))).scalar_one()
        account_t = Account.__table__
        revenue_and_vat = conn.execute(
            select(func.sum(line_t.c.credit_fen - line_t.c.debit_fen))
            .join(account_t, account_t.c.id == line_t.c.account_id)
            .where(line_t.c.entry_id == entry, account_t.c.code.in_(["5001", "222101"]))
        ).scalar_one()
        assert revenue_and_vat == takings
        assert verify_org(conn, ids["company"]) == []
    assert errors == []
    context.close()


def test_bad_input_an_expired_login_offline_and_the_phone(
    live: LiveServer, browser: object, tmp_path: Path
) -> None:
    seed_shop(live)
    engine = live.county.engine
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    till_login(page, live)
    wait_view(page, "open")
    page.keyboard.type("200")
    page.keyboard.press("Enter")
    wait_view(page, "sell")

    # An unknown barcode: a clear message, no line.
    scan(page, "6909999999999")
    assert "未知条码 6909999999999" in page.locator("#message").inner_text()
    assert page.locator("#cart-body tr").count() == 0
    # Pinyin initials: "jd" finds 鸡蛋 (and 土鸡蛋); Enter takes the first; it is weighed, so the weight.
    page.keyboard.type("jd")
    assert page.locator("#suggestions li").first.inner_text().startswith("鸡蛋")
    page.keyboard.press("Enter")
    page.locator("#qty-input").wait_for()
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    assert "数量必须大于 0" in page.locator("#message").inner_text()
    page.keyboard.press("Control+a")
    page.keyboard.type("1.2345")
    page.keyboard.press("Enter")
    assert "最多三位小数" in page.locator("#message").inner_text()
    page.keyboard.press("Control+a")
    page.keyboard.type("1.5")
    page.keyboard.press("Enter")
    scan(page, "6901000000042")
    scan(page, "6901000000035")
    assert page.locator("#cart-body tr").count() == 3
    # Keyboard: up to the oil, F2 → 2 barrels; Delete removes the eggs' line below it.
    page.keyboard.press("ArrowUp")
    page.keyboard.press("F2")
    page.locator("#qty-input").wait_for()
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Delete")
    assert page.locator("#cart-body tr").count() == 2
    assert page.locator("#total").inner_text() == "145.75"  # 1.5 斤 × 6.50 + 2 × 68.00
    # A reload in the middle of a sale keeps its lines and its key.
    sale_key = page.locator("#sale-key").inner_text()
    page.reload()
    wait_view(page, "sell")
    assert page.locator("#cart-body tr").count() == 2 and page.locator("#total").inner_text() == "145.75"
    assert page.locator("#sale-key").inner_text() == sale_key
    page.keyboard.press("ArrowUp")
    shot(page, "till-390-sale", tmp_path)
    # Short payment: refused, the sale stays.
    page.keyboard.press("F4")
    wait_view(page, "pay")
    page.keyboard.type("100")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # on the confirm button
    assert "付款不足：还差 45.75" in page.locator("#pay-error").inner_text()
    # Credit needs the customer; with the school canteen chosen, its channel follows.
    page.get_by_label("现金", exact=True).fill("")
    page.get_by_label("挂账", exact=True).fill("145.75")
    page.get_by_label("挂账", exact=True).press("Enter")
    assert "挂账需要选择客户" in page.locator("#pay-error").inner_text()
    page.get_by_label("客户（挂账）").select_option(label="第一中学食堂（额度 500.00）")
    assert page.get_by_label("渠道").input_value() == "school"
    shot(page, "till-390-pay", tmp_path)
    page.get_by_label("挂账", exact=True).press("Enter")
    wait_view(page, "receipt")
    assert "第一中学食堂" in page.locator("#receipt").inner_text()
    page.keyboard.press("Enter")

    # An expired login while offline: the sale waits in the queue; after the password it goes up.
    context.set_offline(True)
    sell_eggs(page, 1, "2.00")
    with write_tx(engine) as conn:
        conn.execute(update(token_t).where(token_t.c.label == "till").values(revoked_at=datetime.now(UTC)))
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_view(page, "login")
    assert "登录已失效" in page.locator("#login-note").inner_text()
    assert queue_count(page, 1) == 1
    assert sales_in_db(engine) == (1, 1)
    page.get_by_label("密码").fill(PASSWORD)
    page.keyboard.press("Enter")
    wait_view(page, "sell")
    sync_api.expect(page.locator("#queue-count")).to_have_text("0", timeout=20000)
    assert sales_in_db(engine) == (2, 2)

    # A sale the server refuses (the price changed while the till was offline) is shown with its reason,
    # kept until the cashier has seen it, and holds the shift's close until then.
    context.set_offline(True)
    sell_eggs(page, 1, "2.00")
    officer = live.county.auth("officer")
    r = httpx.put(
        f"{live.url}/api/v1/pos/orgs/{live.county.ids['company']}/products",
        json=[{"sku": "EGG", "barcode": "6901000000035", "name": "土鸡蛋", "unit": "个", "price": "1.60"}],
        headers=officer,
    )
    assert r.status_code == 200, r.text
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    sync_api.expect(page.locator("#rejected-count")).to_have_text("1", timeout=20000)
    assert queue_count(page, 0) == 0 and sales_in_db(engine) == (2, 2)
    page.keyboard.press("F10")
    wait_view(page, "queue")
    rejected = page.locator("#queue-list li.rejected")
    sync_api.expect(rejected).to_contain_text("价格已变")
    sync_api.expect(rejected).to_contain_text("catalogue price 1.60")
    shot(page, "till-390-rejected", tmp_path)
    page.keyboard.press("Escape")
    wait_view(page, "sell")
    page.keyboard.press("F9")
    sync_api.expect(page.locator("#close-wait")).to_contain_text("有 1 笔被拒的销售")
    page.keyboard.press("Escape")
    page.keyboard.press("F10")
    page.get_by_role("button", name="已知悉，移出").press("Enter")
    sync_api.expect(page.locator("#rejected")).to_be_hidden()
    page.keyboard.press("Escape")
    # The catalogue came back with the new price: the same eggs now ring up at 1.60.
    wait_view(page, "sell")
    scan(page, "6901000000035")
    assert page.locator("#total").inner_text() == "1.60"
    # A price label: ¥20.00 of beef at ¥40.00/kg is 0.5 kg; a label misread (bad check digit) is refused.
    label = ean13("201234602000")
    scan(page, label[:-1] + str((int(label[-1]) + 1) % 10))
    assert "校验位错误" in page.locator("#message").inner_text()
    page.keyboard.press("Control+a")
    scan(page, label)
    assert page.locator("#cart-body tr").nth(1).locator(".qty").inner_text() == "0.5kg"
    assert page.locator("#total").inner_text() == "21.60"
    # The price changes again while the till is online with the old price in its cart: the server refuses,
    # the till reloads the catalogue, reprices the sale (same key: nothing was written) and asks again.
    r = httpx.put(
        f"{live.url}/api/v1/pos/orgs/{live.county.ids['company']}/products",
        json=[{"sku": "EGG", "barcode": "6901000000035", "name": "土鸡蛋", "unit": "个", "price": "1.70"}],
        headers=officer,
    )
    assert r.status_code == 200, r.text
    page.keyboard.press("F4")
    wait_view(page, "pay")
    page.keyboard.type("50")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#pay-error")).to_contain_text("价格已更新")
    assert page.locator("#pay-total").inner_text() == "21.70"
    page.keyboard.type("50")
    page.keyboard.press("Enter")
    wait_view(page, "receipt")
    assert page.locator("#receipt-change").inner_text() == "28.30"
    assert sales_in_db(engine) == (3, 3)
    # Over the canteen's credit limit (500.00, 145.75 owed): refused with the reason, the sale kept to
    # pay another way; and not shown as waiting to go up, though the outbox was counted while it was sent.
    page.keyboard.press("Enter")
    wait_view(page, "sell")
    page.evaluate(COUNT_WHILE_SENDING, "/api/v1/pos/sales")
    scan(page, "6*6901000000042")
    page.keyboard.press("F4")
    wait_view(page, "pay")
    page.get_by_label("客户（挂账）").select_option(label="第一中学食堂（额度 500.00）")
    page.get_by_label("挂账", exact=True).press("Enter")  # empty: the balance due, 408.00
    page.get_by_label("挂账", exact=True).press("Enter")
    sync_api.expect(page.locator("#pay-error")).to_contain_text("超出挂账额度")
    # Counted again before the reason is shown: nothing else is sure to count soon (CI waited 5 s for it).
    assert page.locator("#queue-count").inner_text() == "0"
    assert sales_in_db(engine) == (3, 3)
    page.get_by_label("挂账", exact=True).fill("")
    page.get_by_label("现金", exact=True).fill("500")
    page.get_by_label("现金", exact=True).press("Enter")
    wait_view(page, "receipt")
    assert page.locator("#receipt-change").inner_text() == "92.00"
    assert sales_in_db(engine) == (4, 4)
    shot(page, "till-390-after-login", tmp_path)
    assert errors == []
    context.close()
