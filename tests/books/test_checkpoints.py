"""Signed month-close checkpoints: evidence of the books kept outside the database (issue 21, item 8).

The attack: someone with the database owner's rights switches the guards off, changes a posted entry on
both its lines, patches the turnover and the snapshot, and recomputes every hash of the chain from that
entry on. ``cunshe verify`` then finds the books sound. A checkpoint signed at the month close with a key
outside the database, exported and kept elsewhere, still says what the books held: ``cunshe verify
--checkpoints`` names the month that changed, and the public ``/verify/{code}`` page says the books no
longer agree.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path

import pdfplumber
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, text

from ledger.access.signing_key import ensure_key_file, load_key
from ledger.books import checkpoints
from ledger.books.chain import GENESIS, chain_hash
from ledger.cli.main import app as cli
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import Account, JournalEntry, JournalLine
from ledger.settings import get_settings
from tests.factories.checkpoints import close, code_of, entry, export, post, runner
from tests.factories.county import County
from tests.factories.servers import url_of


@pytest.fixture
def closed_books(client: TestClient, county: County) -> dict[str, dict]:
    """丁字口: February posted and closed, then March posted and closed, all over HTTP."""
    org = county.ids["dingzikou"]
    feb = post(client, county, org, entry("2025-02-05", "300.00"))
    close(client, county, org, "2025-02")
    mar = post(client, county, org, entry("2025-03-05", "105.00"))
    post(client, county, org, entry("2025-03-20", "40.00", "收场地费"))
    close(client, county, org, "2025-03")
    return {"feb": feb, "mar": mar}


# --- the forgery --------------------------------------------------------------------------------------------


def _guards_off(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for trigger in ("journal_line_no_update", "journal_entry_no_update"):
            conn.execute(text(f"DROP TRIGGER {trigger}"))
    else:
        conn.execute(text("ALTER TABLE journal_line DISABLE TRIGGER USER"))
        conn.execute(text("ALTER TABLE journal_entry DISABLE TRIGGER USER"))


def forge(conn: Connection, entry_id: int, new_fen: int) -> None:
    """Change a two-line entry's amount on both lines, patch the turnover and the closed snapshots, and
    recompute the org's chain from that entry on: every check of ``cunshe verify`` holds afterwards."""
    _guards_off(conn)
    target = conn.execute(select(JournalEntry.__table__).where(JournalEntry.__table__.c.id == entry_id)).one()
    org_id, period = target.org_id, target.period
    lines = conn.execute(
        text("SELECT account_id, debit_fen, credit_fen FROM journal_line WHERE entry_id = :e"),
        {"e": entry_id},
    ).all()
    for account_id, debit, credit in lines:
        side, old = ("debit_fen", debit) if debit else ("credit_fen", credit)
        delta = new_fen - old
        conn.execute(
            text(f"UPDATE journal_line SET {side} = :v WHERE entry_id = :e AND account_id = :a"),
            {"v": new_fen, "e": entry_id, "a": account_id},
        )
        where = "org_id = :o AND account_id = :a"
        args = {"d": delta, "o": org_id, "a": account_id, "p": period}
        conn.execute(
            text(f"UPDATE account_turnover SET {side} = {side} + :d WHERE {where} AND period = :p"), args
        )
        conn.execute(
            text(f"UPDATE account_balance SET {side} = {side} + :d WHERE {where} AND period = :p"), args
        )
        sign = 1 if side == "debit_fen" else -1
        conn.execute(
            text(f"UPDATE account_balance SET closing_fen = closing_fen + :d WHERE {where} AND period >= :p"),
            {**args, "d": sign * delta},
        )
    conn.execute(text("UPDATE journal_entry SET total_fen = :v WHERE id = :e"), {"v": new_fen, "e": entry_id})
    codes = dict(conn.execute(select(Account.__table__.c.id, Account.__table__.c.code)).all())
    entry_t, line_t = JournalEntry.__table__, JournalLine.__table__
    prev = (
        conn.execute(
            select(entry_t.c.hash).where(entry_t.c.org_id == org_id, entry_t.c.seq == target.seq - 1)
        ).scalar_one_or_none()
        or GENESIS
    )
    for e in conn.execute(
        select(entry_t).where(entry_t.c.org_id == org_id, entry_t.c.seq >= target.seq).order_by(entry_t.c.seq)
    ).all():
        rows = conn.execute(select(line_t).where(line_t.c.entry_id == e.id).order_by(line_t.c.line_no))
        ls = [{**dict(r), "account_code": codes[r["account_id"]]} for r in rows.mappings()]
        new_hash = chain_hash(prev, e._asdict(), ls)
        conn.execute(
            text("UPDATE journal_entry SET prev_hash = :p, hash = :h WHERE id = :e"),
            {"p": prev, "h": new_hash, "e": e.id},
        )
        prev = new_hash
    conn.execute(text("UPDATE book_state SET head_hash = :h WHERE org_id = :o"), {"h": prev, "o": org_id})


# --- tests --------------------------------------------------------------------------------------------------


def test_a_close_over_http_signs_a_checkpoint_that_the_exported_file_verifies(
    client: TestClient, county: County, closed_books: dict, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    lines = export(db, tmp_path / "checkpoints.jsonl")
    assert [(line["payload"]["org"], line["payload"]["period"]) for line in lines] == [
        ("dingzikou", "2025-02"),
        ("dingzikou", "2025-03"),
    ]
    march = lines[1]["payload"]
    assert (march["debit_fen"], march["credit_fen"], march["entries"]) == (14500, 14500, 2)
    assert march["head_seq"] == 3 and len(march["head_hash"]) == 64
    key = load_key(Path(os.environ["CUNSHE_SIGNING_KEY_FILE"]))
    assert {line["key_id"] for line in lines} == {key.key_id}
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{10}", line["code"]) for line in lines)
    result = runner.invoke(cli, ["verify", "--db", db, "--checkpoints", str(tmp_path / "checkpoints.jsonl")])
    assert result.exit_code == 0, result.output
    assert "hold all 2 checkpoint(s)" in result.output


def test_the_rewritten_chain_passes_verify_but_not_the_checkpoints_which_name_the_month(
    client: TestClient, county: County, closed_books: dict, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    kept = tmp_path / "kept-by-the-street.jsonl"
    export(db, kept)
    march_code = code_of(client, county, "2025-03")
    assert "still agree" in client.get(f"/verify/{march_code}").text
    with write_tx(county.engine) as conn:
        forge(conn, closed_books["mar"]["id"], 1_050_000)  # 105.00 → 10,500.00
    plain = runner.invoke(cli, ["verify", "--db", db])
    assert plain.exit_code == 0, plain.output  # the forgery is consistent with itself
    checked = runner.invoke(cli, ["verify", "--db", db, "--checkpoints", str(kept)])
    assert checked.exit_code == 1, checked.output
    assert "the first period that differs: dingzikou 2025-03" in checked.output
    assert "org dingzikou 2025-02" not in checked.output  # February still holds
    assert "trial balance of 2025-03 differs" in checked.output
    page = client.get(f"/verify/{march_code}")
    assert page.status_code == 200 and "no longer agree" in page.text
    assert "trial balance of 2025-03 differs" in page.text
    # The differences are data worded through the catalogues: the reader's language first, the other after.
    zh = re.findall(r'<li class="difference">(.*?)</li>', client.get(f"/verify/{march_code}?lang=zh").text)
    en = re.findall(r'<li class="difference">(.*?)</li>', client.get(f"/verify/{march_code}?lang=en").text)
    assert len(zh) == len(en) and len(zh) >= 1
    figures_zh = next(item for item in zh if "科目余额表" in item)
    figures_en = next(item for item in en if "trial balance" in item)
    assert figures_zh.startswith("2025-03 的科目余额表已不同：现借方 ¥") and "检查点记载借方 ¥" in figures_zh
    assert figures_en.startswith("The trial balance of 2025-03 differs: debits CN¥")
    assert "fen" not in figures_en  # amounts as people write them, the forged 10,500.00 among them:
    assert "CN¥10,540.00" in figures_en and "¥10,540.00" in figures_zh
    zh_words = figures_zh.split(" The trial balance", 1)[0]
    assert figures_en.endswith(" " + zh_words)  # the same sentence, the other language after the reader's
    assert "still agree" in client.get(f"/verify/{code_of(client, county, '2025-02')}").text


def test_a_rewrite_in_an_earlier_month_is_named_first(
    client: TestClient, county: County, closed_books: dict, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    kept = tmp_path / "kept.jsonl"
    export(db, kept)
    with write_tx(county.engine) as conn:
        forge(conn, closed_books["feb"]["id"], 30_100)
    checked = runner.invoke(cli, ["verify", "--db", db, "--checkpoints", str(kept)])
    assert checked.exit_code == 1
    assert "the first period that differs: dingzikou 2025-02" in checked.output
    # March's figures hold, but its chain head does not: the rewrite lies at or before its position.
    assert re.search(r"org dingzikou 2025-03 .*chain entry at position 3", checked.output)


def test_a_checkpoint_file_edited_or_signed_by_another_key_is_refused(
    client: TestClient, county: County, closed_books: dict, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    lines = export(db, tmp_path / "kept.jsonl")
    lines[0]["payload"]["debit_fen"] = 1  # a figure changed in the file: the signature no longer covers it
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = runner.invoke(cli, ["verify", "--db", db, "--checkpoints", str(edited)])
    assert result.exit_code == 1 and "signature does not hold" in result.output
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n", encoding="utf-8")
    result = runner.invoke(cli, ["verify", "--db", db, "--checkpoints", str(junk)])
    assert result.exit_code == 2 and "junk.jsonl:1" in result.output


def test_the_statement_pdf_prints_the_checkpoint_code_of_its_month(
    client: TestClient, county: County, closed_books: dict
) -> None:
    org = county.ids["dingzikou"]
    code = code_of(client, county, "2025-03")
    for name in ("income-statement", "balance-sheet", "disclosure"):
        pdf = client.get(
            f"/api/v1/orgs/{org}/reports/{name}.pdf?period=2025-03", headers=county.auth("officer")
        )
        assert pdf.status_code == 200, (name, pdf.text[:300])
        with pdfplumber.open(io.BytesIO(pdf.content)) as document:
            flat = re.sub(r"\s+", "", document.pages[0].extract_text() or "")
        assert f"封账码{code}" in flat, name
    # An open month's statement has no checkpoint to show.
    open_month = client.get(
        f"/api/v1/orgs/{org}/reports/income-statement.json?period=2025-04", headers=county.auth("officer")
    )
    assert open_month.status_code == 200 and open_month.json()["checkpoint"] is None


def test_reopening_a_month_withdraws_its_code_and_closing_it_again_signs_a_new_one(
    client: TestClient, county: County, closed_books: dict
) -> None:
    org = county.ids["dingzikou"]
    first = code_of(client, county, "2025-03")
    r = client.post(
        f"/api/v1/orgs/{org}/periods/2025-03/reopen", json={"reason": "补记"}, headers=county.auth("admin")
    )
    assert r.status_code == 200, r.text
    with read_tx(county.engine) as conn:
        assert checkpoints.current_code(conn, org, "2025-03") is None
    post(client, county, org, entry("2025-03-25", "1.00"))
    close(client, county, org, "2025-03")
    second = code_of(client, county, "2025-03")
    assert second != first
    assert "no longer agree" in client.get(f"/verify/{first}").text  # the old seal: March has a new entry
    assert "still agree" in client.get(f"/verify/{second}").text


def test_the_verify_page_is_public_reads_typed_codes_and_404s_unknown_ones(
    client: TestClient, county: County, closed_books: dict
) -> None:
    code = code_of(client, county, "2025-03")
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200
    assert "丁字口社区" in page.text and "2025-03" in page.text and "145.00" in page.text
    assert client.get(f"/verify/{code.lower()[:5]}-{code.lower()[5:]}").status_code == 200
    assert client.get("/verify/0000000000").status_code == 404
    assert client.get("/verify/not-a-code").status_code == 404


def test_the_verify_page_is_rate_limited_per_address(client: TestClient, county: County) -> None:
    state = client.app.state
    state.settings = state.settings.model_copy(update={"verify_rate_per_address": "3/minute"})
    answers = [client.get("/verify/0000000000") for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_init_writes_an_owner_only_key_beside_the_books_and_keeps_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CUNSHE_SIGNING_KEY_FILE")
    get_settings.cache_clear()
    try:
        db = f"sqlite:///{tmp_path / 'books.db'}"
        first = runner.invoke(cli, ["init", "--db", db])
        assert first.exit_code == 0, first.output
        key = tmp_path / "books.db.signing-key"
        assert f"checkpoint signing key written to {key}" in first.output
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        made = key.read_bytes()
        again = runner.invoke(cli, ["init", "--db", db])
        assert "kept in" in again.output and key.read_bytes() == made
    finally:
        get_settings.cache_clear()


def test_a_close_without_the_key_is_refused_naming_the_file_unless_in_development_mode(
    client: TestClient, county: County, tmp_path: Path, monkeypatch
) -> None:
    org = county.ids["dingzikou"]
    post(client, county, org, entry("2025-02-05", "300.00"))
    monkeypatch.setenv("CUNSHE_SIGNING_KEY_FILE", str(tmp_path / "absent.signing-key"))
    get_settings.cache_clear()
    try:
        r = client.post(f"/api/v1/orgs/{org}/periods/2025-02/close", headers=county.auth("officer"))
        assert r.status_code == 503 and r.json()["error"]["code"] == "signing_key_missing"
        assert "absent.signing-key" in r.json()["error"]["message"]
        with read_tx(county.engine) as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM period")).scalar_one() == 0  # nothing closed
        monkeypatch.setenv("CUNSHE_DEV_MODE", "1")
        get_settings.cache_clear()
        close(client, county, org, "2025-02")
        with read_tx(county.engine) as conn:
            assert checkpoints.current_code(conn, org, "2025-02") is None  # closed, unsigned
    finally:
        get_settings.cache_clear()


def test_checkpoints_are_append_only(client: TestClient, county: County, closed_books: dict) -> None:
    with pytest.raises(Exception, match="immutable"), write_tx(county.engine) as conn:
        conn.execute(text("UPDATE period_checkpoint SET signature = 'x'"))


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.signing-key"
    assert ensure_key_file(path) and not ensure_key_file(path)
    assert load_key(path).key_id == checkpoints.key_id_of(load_key(path).public_bytes)


def test_a_close_from_the_command_line_signs_its_checkpoint_too(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    post(client, county, county.ids["dingzikou"], entry("2025-02-05", "300.00"))
    result = runner.invoke(cli, ["close-period", "dingzikou", "2025-02", "--db", db])
    assert result.exit_code == 0 and "closed 2025-02" in result.output, result.output
    [line] = export(db, tmp_path / "kept.jsonl")
    assert line["payload"]["period"] == "2025-02" and line["payload"]["debit_fen"] == 30000


def test_a_close_from_the_officer_s_page_signs_its_checkpoint_too(
    client: TestClient, county: County, tmp_path: Path
) -> None:
    from tests.factories.web import csrf_of, log_in

    org = county.ids["dingzikou"]
    post(client, county, org, entry("2025-02-05", "300.00"))
    log_in(client, "officer")
    page = client.get(f"/web/orgs/{org}").text
    done = client.post(f"/web/orgs/{org}/close", data={"period": "2025-02", "csrf_token": csrf_of(page)})
    assert done.status_code == 200, done.text[:300]
    [line] = export(url_of(county.engine), tmp_path / "kept.jsonl")
    assert line["payload"]["period"] == "2025-02" and line["code"] == code_of(client, county, "2025-02")
