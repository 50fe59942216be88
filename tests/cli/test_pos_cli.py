"""``cunshe pos …``: the back office's writes are ``pos.services``' own, carried out as the CLI actor."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from ledger.cli.pos import app
from tests.factories.county import County

runner = CliRunner()

CATALOGUE = (
    "sku,barcode,name,unit,price,tax_category,category,origin,allow_price_override,active\n"
    "EGG-30,6900000000017,土鸡蛋 30枚,盒,45.00,goods,蛋类,,false,true\n"
    "RICE-5,,大米 5kg,袋,38.50,goods,粮油,,false,true\n"
)


def _count(county: County, sql: str) -> int:
    with county.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_store_tax_rate_and_catalogue_from_the_command_line_once_per_key(
    county: County, tmp_path: Path
) -> None:
    db = county.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "catalogue.csv"
    path.write_text(CATALOGUE, encoding="utf-8")
    stores_before = _count(county, "SELECT count(*) FROM store")

    store = runner.invoke(app, ["add-store", "heping-co", "store9", "九号店", "--key", "s9", "--db", db])
    store_again = runner.invoke(
        app, ["add-store", "heping-co", "store9", "九号店", "--key", "s9", "--db", db]
    )
    rate = runner.invoke(app, ["set-tax-rate", "heping-co", "goods", "100", "2026-01-01", "--db", db])
    imported = runner.invoke(app, ["import-catalogue", "heping-co", str(path), "--key", "cat-1", "--db", db])
    replayed = runner.invoke(app, ["import-catalogue", "heping-co", str(path), "--key", "cat-1", "--db", db])
    reimported = runner.invoke(app, ["import-catalogue", "heping-co", str(path), "--db", db])

    assert store.exit_code == 0 and "store9 created" in store.output, store.output
    assert store_again.output == store.output
    assert _count(county, "SELECT count(*) FROM store") == stores_before + 1
    assert rate.exit_code == 0 and "goods: 1% from 2026-01-01" in rate.output, rate.output
    assert imported.exit_code == 0 and "2 products created, 0 updated" in imported.output, imported.output
    assert replayed.output == imported.output  # the key's first answer, nothing imported again
    assert reimported.exit_code == 0 and "0 products created, 2 updated" in reimported.output
    actions = [
        row
        for (row,) in county.engine.connect().execute(
            text("SELECT detail FROM audit_log WHERE action LIKE 'pos.%' ORDER BY id")
        )
    ]
    assert len(actions) == 4 and all(d.endswith("(cli)") for d in actions), actions


def test_the_back_office_commands_refuse_an_org_that_is_not_a_company(county: County, tmp_path: Path) -> None:
    db = county.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "catalogue.csv"
    path.write_text(CATALOGUE, encoding="utf-8")

    store = runner.invoke(app, ["add-store", "dingzikou", "store9", "九号店", "--db", db])
    catalogue = runner.invoke(app, ["import-catalogue", "dingzikou", str(path), "--db", db])
    bad_day = runner.invoke(app, ["set-tax-rate", "heping-co", "goods", "100", "2026-13-01", "--db", db])

    assert store.exit_code == 2 and "the POS belongs to a company" in store.output, store.output
    assert catalogue.exit_code == 2 and "the POS belongs to a company" in catalogue.output
    assert bad_day.exit_code == 2 and "EFFECTIVE_FROM" in bad_day.output and "Traceback" not in bad_day.output
    assert _count(county, "SELECT count(*) FROM pos_product") == 0
