"""``cunshe community …``: a community's own business from the command line, on the services the API uses.

Assets (资产台账), welfare posts (公益性岗位) and facility spending, brokerage (居间服务),
subsidies (补助收入) and stakes (参股). Each write carries out the service its route in
``ledger.api.routes.community`` carries out (``ledger.community.services``, through ``run_service``: scope →
``--key`` → write → audit, as the CLI's actor), so a key used at the API is answered here once; amounts are
decimal strings (``"1800.00"``), parsed to fen before anything is written. Bad input exits 2 with
``error [code] field: message`` and writes nothing. A retry with the same ``--key`` posts nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from sqlalchemy import Connection

from ledger.books.errors import NotFound, ValidationError
from ledger.books.money import (
    format_amount,
    parse_amount,
    parse_quantity,
    split_tax_inclusive,
)
from ledger.books.orgs import get_org
from ledger.books.periods import parse_date, parse_period
from ledger.cli.leases import (
    OPTION_NAMES,
    CashOption,
    KeyOption,
    OrgOption,
    StreetOption,
    fail,
    named_org,
    orgs_of,
    parsed,
    read,
    write,
)
from ledger.cli.options import DbOption, org_id_of, run_built
from ledger.cli.tables import JsonOption, print_json
from ledger.community import assets, brokerage, services, stakes, subsidies, welfare
from ledger.community.assets import NewAsset
from ledger.community.messages import asset_out, dump, post_out

if TYPE_CHECKING:
    from ledger.access.auth import Principal
    from ledger.access.service import Write

T = TypeVar("T")

app = typer.Typer(
    help="A community's own business: assets, welfare posts (公益性岗位), brokerage, subsidies, stakes.",
    no_args_is_help=True,
)
asset_app = typer.Typer(help="The asset register (资产台账).", no_args_is_help=True)
post_app = typer.Typer(
    help="Public-welfare posts (公益性岗位): register, stipends, payments.", no_args_is_help=True
)
deal_app = typer.Typer(help="Brokerage deals (居间服务) and their fees.", no_args_is_help=True)
subsidy_app = typer.Typer(help="Subsidies received (补助收入), by source.", no_args_is_help=True)
stake_app = typer.Typer(help="Stakes in joint companies (参股).", no_args_is_help=True)
app.add_typer(asset_app, name="asset")
app.add_typer(post_app, name="post")
app.add_typer(deal_app, name="deal")
app.add_typer(subsidy_app, name="subsidy")
app.add_typer(stake_app, name="stake")

OneOrg = Annotated[str, typer.Option("--org", help="a community or village (code or id)")]


# -- parsing: every input is checked before the transaction starts -----------------------------------------


def _text(value: str, field: str, max_length: int) -> str:
    """The route's length limit (its pydantic ``Field(max_length=…)``)."""
    if len(value) > max_length:
        raise ValidationError(f"at most {max_length} characters", field=field)
    return value


# -- running: the service the API and the pages carry out, as the CLI's actor (``leases.write``, ``read``) ---


def _rows_by_org(
    db: str | None, org: str | None, street: str | None, find: Callable[[Connection, list[int]], list[Any]]
) -> list[dict[str, Any]]:
    """What ``find`` finds for an org or every org of a street, each row with its org's code (``org``)."""

    def work(conn: Connection) -> list[dict[str, Any]]:
        org_ids = orgs_of(conn, org, street)
        codes = {i: get_org(conn, i).code for i in org_ids}
        return [{"org": codes[r["org_id"]], **r} for r in find(conn, org_ids)]

    return read(db, work)


def _again(used: bool) -> str:
    return " (already posted: nothing more)" if used else ""


# -- assets -------------------------------------------------------------------------------------------------


def _asset_line(a: dict[str, Any]) -> str:
    """An asset as the services answer it (``ledger.community.messages.AssetOut``)."""
    fields = ["id", "org_code", "kind", "name", "location", "area", "ownership", "book_value", "status"]
    return "\t".join(str(a[f]) for f in [*fields, "certificate_no"])


ASSET_HEADER = "id\torg\tkind\tname\tlocation\tarea_m2\townership\tbook_value\tstatus\tcertificate_no"


@asset_app.command("add")
def asset_add(
    org: OneOrg,
    kind: Annotated[str, typer.Option("--kind", help="房屋, 土地, 门面, 厂房 …")],
    name: Annotated[str, typer.Option("--name")],
    location: Annotated[str, typer.Option("--location")] = "",
    area: Annotated[str | None, typer.Option("--area", help="m², up to 3 decimals: 120.5")] = None,
    ownership: Annotated[
        str, typer.Option("--ownership", help="collective (集体自有) | state_entrusted (国有委托代管)")
    ] = "collective",
    entrusting_body: Annotated[str, typer.Option("--entrusting-body", help="委托方 of a state asset")] = "",
    book_value: Annotated[str, typer.Option("--book-value", help="0.00")] = "0.00",
    status: Annotated[str, typer.Option("--status", help="idle | leased | own_use")] = "idle",
    certificate_no: Annotated[str, typer.Option("--certificate-no", help="确权 certificate number")] = "",
    documents: Annotated[str, typer.Option("--documents")] = "",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Add an asset to the register (资产台账) and print it."""

    def parse() -> tuple[int, int]:
        _text(kind, "kind", 32)
        _text(name, "name", 200)
        _text(location, "location", 200)
        _text(entrusting_body, "entrusting_body", 200)
        _text(certificate_no, "certificate_no", 128)
        _text(documents, "documents", 2000)
        return (parse_quantity(area, "area") if area is not None else 0), parse_amount(
            book_value, "book_value"
        )

    area_milli, book_value_fen = parsed(parse)
    asked = NewAsset(
        kind=kind,
        name=name,
        location=location,
        area_milli_m2=area_milli,
        ownership=ownership,
        entrusting_body=entrusting_body,
        book_value_fen=book_value_fen,
        status=status,
        certificate_no=certificate_no,
        documents=documents,
    )
    _, asset = write(db, org, lambda actor, org_id: services.add_asset(actor, org_id, asked), key)
    typer.echo(_asset_line(asset))


@asset_app.command("list")
def asset_list(
    org: OrgOption = None,
    street: StreetOption = None,
    status: Annotated[str | None, typer.Option("--status", help="idle | leased | own_use")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The asset register of an org or of every collective org of a street."""
    rows = read(db, lambda conn: assets.list_assets(conn, orgs_of(conn, org, street), status=status))
    if as_json:
        print_json(rows)
        return
    typer.echo(ASSET_HEADER)
    for a in rows:
        typer.echo(_asset_line(dump(asset_out(a))))


@asset_app.command("status")
def asset_status(
    org: OneOrg,
    asset: Annotated[int, typer.Option("--asset", help="the asset id")],
    status: Annotated[str, typer.Option("--status", help="idle | leased | own_use")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Set an asset's status (idle, leased, own_use)."""
    _, row = write(
        db, org, lambda actor, org_id: services.set_asset_status(actor, org_id, asset, status), key
    )
    typer.echo(_asset_line(row))


@app.command("idle-assets")
def idle_assets(
    org: OrgOption = None, street: StreetOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Idle assets (闲置资产) of an org or of every collective org of a street."""
    rows = read(db, lambda conn: assets.list_assets(conn, orgs_of(conn, org, street), status="idle"))
    if as_json:
        print_json(rows)
        return
    for a in rows:
        typer.echo(f"{a['org_code']}\t{a['kind']}\t{a['name']}\t{a['location']}\t{a['certificate_no']}")


# -- welfare posts and facilities ---------------------------------------------------------------------------

POST_HEADER = "id\tpost\tholder\tmonthly_stipend\tstart\tend\towed"


def _post_line(p: dict[str, Any]) -> str:
    """A post as the services answer it (``ledger.community.messages.PostOut``)."""
    fields = [p["id"], p["post"], p["holder"], p["monthly_stipend"], p["start"], p["end"] or "", p["owed"]]
    return "\t".join(str(f) for f in fields)


@app.command()
def stipends(
    through: Annotated[str, typer.Option("--through", help="YYYY-MM")],
    org: OrgOption = None,
    street: StreetOption = None,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Post every welfare post's monthly stipend through a month (idempotent per post and month)."""
    found = read(db, lambda conn: named_org(conn, org, street))
    _, run = write(db, str(found), lambda actor, org_id: services.stipends(actor, org_id, through), key)
    typer.echo(f"posted {run['posted']} stipend-months through {through}: {run['amount']}")


@post_app.command("add")
def post_add(
    org: OneOrg,
    post: Annotated[str, typer.Option("--post", help="保洁员, 护路员, 治安巡逻员, 社区服务专干 …")],
    holder: Annotated[str, typer.Option("--holder")],
    stipend: Annotated[str, typer.Option("--stipend", help="monthly stipend: 1800.00")],
    start: Annotated[str, typer.Option("--start", help="YYYY-MM-DD")],
    end: Annotated[str | None, typer.Option("--end", help="YYYY-MM-DD, the last day held")] = None,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Register a public-welfare post (公益性岗位) and its holder."""

    def parse() -> tuple[int, date, date | None]:
        _text(post, "post", 32)
        _text(holder, "holder", 100)
        return (
            parse_amount(stipend, "monthly_stipend"),
            parse_date(start, "start"),
            parse_date(end, "end") if end is not None else None,
        )

    stipend_fen, start_day, end_day = parsed(parse)
    new = welfare.NewPost(
        post=post, holder=holder, monthly_stipend_fen=stipend_fen, start=start_day, end=end_day
    )
    _, p = write(db, org, lambda actor, org_id: services.add_post(actor, org_id, new), key)
    typer.echo(_post_line(p))


@post_app.command("list")
def post_list(org: OneOrg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """An org's welfare posts, with the stipend still owed to each holder."""

    def work(conn: Connection) -> list[str] | list[dict[str, Any]]:
        org_id = org_id_of(conn, org)
        if as_json:
            return [_post_json(conn, org_id, pid) for pid in welfare.post_ids(conn, org_id)]
        return [_post_line(dump(post_out(conn, org_id, pid))) for pid in welfare.post_ids(conn, org_id)]

    rows = read(db, work)
    if as_json:
        print_json(rows)
        return
    typer.echo(POST_HEADER)
    for line in rows:
        typer.echo(line)


def _post_json(conn: Connection, org_id: int, post_id: int) -> dict[str, Any]:
    p = welfare.get_post(conn, org_id, post_id)
    keys = ("id", "post", "holder", "monthly_stipend_fen", "start_date", "end_date")
    return {k: getattr(p, k) for k in keys} | {"owed_fen": welfare.stipend_owed(conn, p.id)}


@post_app.command("end")
def post_end(
    org: OneOrg,
    post_id: Annotated[int, typer.Option("--post-id")],
    last_day: Annotated[str, typer.Option("--last-day", help="YYYY-MM-DD: no stipend after it")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """End a post: the holder leaves, no stipend after the last day."""
    day = parsed(lambda: parse_date(last_day, "end"))
    _, p = write(db, org, lambda actor, org_id: services.end_post(actor, org_id, post_id, last_day=day), key)
    typer.echo(_post_line(p))


@post_app.command("stipend")
def post_stipend(
    org: OneOrg,
    post_id: Annotated[int, typer.Option("--post-id")],
    period: Annotated[str, typer.Option("--period", help="YYYY-MM")],
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Post one post's stipend for one month (refused for a month the post is not held)."""
    parsed(lambda: parse_period(period, "period"))
    _, run = write(db, org, lambda actor, org_id: services.post_stipend(actor, org_id, post_id, period), key)
    typer.echo(f"posted {run['posted']} stipend-months for {period}: {run['amount']}")


@post_app.command("pay")
def post_pay(
    org: OneOrg,
    post_id: Annotated[int, typer.Option("--post-id")],
    paid_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    amount: Annotated[str | None, typer.Option("--amount", help="default: all that is owed")] = None,
    cash_account: CashOption = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Pay a post's holder the stipend owed (Dr 212 / Cr 102)."""

    def parse() -> tuple[int | None, date]:
        return parse_amount(amount, "amount") if amount is not None else None, parse_date(paid_on, "date")

    amount_fen, day = parsed(parse)
    used, paid = write(
        db,
        org,
        lambda actor, org_id: services.pay_stipend(
            actor,
            org_id,
            post_id,
            amount_fen=amount_fen,
            paid_on=day,
            cash_account=cash_account,
            idempotency_key=key,
        ),
        key,
    )
    owed = read(db, lambda conn: welfare.stipend_owed(conn, post_id))
    typer.echo(f"entry {paid['entry_id']}\towed now {format_amount(owed)}{_again(used)}")


@app.command()
def facility(
    org: OneOrg,
    amount: Annotated[str, typer.Option("--amount")],
    spent_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    memo: Annotated[str, typer.Option("--memo", help="what was spent on (摘要)")],
    cash_account: CashOption = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Public facility spending (公益设施): Dr 51402 / Cr 102."""

    def parse() -> tuple[int, date]:
        _text(memo, "memo", 500)
        return parse_amount(amount, "amount"), parse_date(spent_on, "date")

    amount_fen, day = parsed(parse)
    used, spent = write(
        db,
        org,
        lambda actor, org_id: services.facility(
            actor,
            org_id,
            amount_fen=amount_fen,
            spent_on=day,
            memo=memo,
            cash_account=cash_account,
            idempotency_key=key,
        ),
        key,
    )
    typer.echo(f"entry {spent['entry_id']}\t{format_amount(amount_fen)}{_again(used)}")


# -- brokerage ----------------------------------------------------------------------------------------------


@deal_app.command("add")
def deal_add(
    org: OneOrg,
    client: Annotated[str, typer.Option("--client", help="委托方")],
    kind: Annotated[str, typer.Option("--kind", help="house_lease | labour | produce | other")],
    earned_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD, the day the fee is earned")],
    other_party: Annotated[str, typer.Option("--other-party")] = "",
    value: Annotated[str, typer.Option("--value", help="the deal value, for a rate")] = "0.00",
    rate_bp: Annotated[
        int | None, typer.Option("--rate-bp", help="commission rate in bp (250 = 2.5 %)")
    ] = None,
    fixed: Annotated[str | None, typer.Option("--fixed", help="a fixed commission instead of a rate")] = None,
    vat_rate_bp: Annotated[int, typer.Option("--vat-rate-bp", help="VAT in bp (100 = 1 %)")] = (
        brokerage.DEFAULT_VAT_BP
    ),
    paid_to: Annotated[
        str | None, typer.Option("--paid-to", help="paid at once into 102 or 101 (default: on credit, 112)")
    ] = None,
    memo: Annotated[str, typer.Option("--memo")] = "",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Record a brokerage deal (居间服务) and post its fee: Dr 112 (the client) or 102 / Cr 50103, 214."""

    def parse() -> tuple[int, int | None, date]:
        _text(client, "client", 200)
        _text(other_party, "other_party", 200)
        _text(memo, "memo", 500)
        return (
            parse_amount(value, "deal_value"),
            parse_amount(fixed, "commission") if fixed is not None else None,
            parse_date(earned_on, "earned_on"),
        )

    value_fen, fixed_fen, day = parsed(parse)
    asked = brokerage.Deal(
        client=client,
        kind=kind,
        earned_on=day,
        deal_value_fen=value_fen,
        commission_rate_bp=rate_bp,
        commission_fen=fixed_fen,
        vat_rate_bp=vat_rate_bp,
        other_party=other_party,
        paid_at_once=paid_to is not None,
        cash_account=paid_to or "102",
        memo=memo,
    )
    used, deal = write(
        db, org, lambda actor, org_id: services.record_deal(actor, org_id, asked, idempotency_key=key), key
    )
    fee = brokerage.commission(value_fen, rate_bp=rate_bp, fixed_fen=fixed_fen)
    net, tax = split_tax_inclusive(fee, vat_rate_bp)
    typer.echo(
        f"deal {deal['deal_id']}\tcommission {format_amount(fee)}\tnet {format_amount(net)}"
        f"\ttax {format_amount(tax)}\t{'paid into ' + paid_to if paid_to else 'on credit'}{_again(used)}"
    )


@deal_app.command("outstanding")
def deal_outstanding(
    org: OrgOption = None, street: StreetOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Brokerage fees earned on credit and not yet collected, of an org or a street."""
    rows = _rows_by_org(db, org, street, brokerage.outstanding)
    if as_json:
        print_json(rows)
        return
    typer.echo("deal\torg\tclient\tkind\tearned_on\tcommission\treceived\toutstanding")
    for r in rows:
        typer.echo(
            f"{r['deal_id']}\t{r['org']}\t{r['client']}\t{r['kind']}\t{r['earned_on']}"
            f"\t{format_amount(r['commission_fen'])}\t{format_amount(r['received_fen'])}"
            f"\t{format_amount(r['outstanding_fen'])}"
        )


@deal_app.command("receipt")
def deal_receipt(
    org: OneOrg,
    deal: Annotated[int, typer.Option("--deal", help="the deal id")],
    amount: Annotated[str, typer.Option("--amount")],
    received_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    cash_account: CashOption = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """A client pays a fee earned on credit: Dr 102 / Cr 112 (the client)."""
    amount_fen, day = parsed(lambda: (parse_amount(amount, "amount"), parse_date(received_on, "date")))
    used, paid = write(
        db,
        org,
        lambda actor, org_id: services.receive_fee(
            actor,
            org_id,
            deal,
            amount_fen=amount_fen,
            received_on=day,
            cash_account=cash_account,
            idempotency_key=key,
        ),
        key,
    )
    typer.echo(f"entry {paid['entry_id']}\t{format_amount(amount_fen)}{_again(used)}")


# -- subsidies ----------------------------------------------------------------------------------------------


@subsidy_app.command("add")
def subsidy_add(
    org: OneOrg,
    amount: Annotated[str, typer.Option("--amount")],
    received_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    source: Annotated[str, typer.Option("--source", help="工作经费 …")] = subsidies.WORK_FUND,
    grantor: Annotated[str, typer.Option("--grantor", help="沿河县财政局 …")] = "",
    cash_account: CashOption = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """A subsidy received (补助收入): Dr 102 / Cr 503, with its source."""

    def parse() -> tuple[int, date]:
        _text(source, "source", 64)
        _text(grantor, "grantor", 200)
        return parse_amount(amount, "amount"), parse_date(received_on, "date")

    amount_fen, day = parsed(parse)
    used, got = write(
        db,
        org,
        lambda actor, org_id: services.receive_subsidy(
            actor,
            org_id,
            source=source,
            grantor=grantor,
            amount_fen=amount_fen,
            received_on=day,
            cash_account=cash_account,
            idempotency_key=key,
        ),
        key,
    )
    typer.echo(f"subsidy {got['subsidy_id']}\t{source}\t{format_amount(amount_fen)}{_again(used)}")


@subsidy_app.command("totals")
def subsidy_totals(
    year: Annotated[int, typer.Option("--year")],
    org: OrgOption = None,
    street: StreetOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Subsidies received in a year, per org and source, of an org or a street."""
    if not 1990 <= year <= 2999:
        fail(ValidationError("the year is between 1990 and 2999", field="year"))

    rows = _rows_by_org(
        db, org, street, lambda conn, org_ids: subsidies.totals_by_source(conn, org_ids, year)
    )
    if as_json:
        print_json(rows)
        return
    typer.echo("org\tsource\tamount")
    for r in rows:
        typer.echo(f"{r['org']}\t{r['source']}\t{format_amount(r['amount_fen'])}")


# -- stakes -------------------------------------------------------------------------------------------------


@stake_app.command("add")
def stake_add(
    org: OneOrg,
    company: Annotated[str, typer.Option("--company", help="the company's org code")],
    paid_in: Annotated[str, typer.Option("--paid-in", help="capital paid in: 200000.00")],
    share_bp: Annotated[int, typer.Option("--share-bp", help="share of the company in bp (2500 = 25 %)")],
    acquired_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    funded_from: Annotated[str, typer.Option("--funded-from", help="102, 101 or 151 (in kind)")] = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Book a stake in a company (参股): Dr 141 长期投资 (the company) / Cr 102."""
    paid_in_fen, day = parsed(lambda: (parse_amount(paid_in, "paid_in"), parse_date(acquired_on, "date")))

    def build(actor: Principal, conn: Connection) -> Write[Any]:
        """The org first, then the company, both in the write's own transaction."""
        org_id = org_id_of(conn, org)
        return services.record_stake(
            actor,
            org_id,
            company_org_id=_company(conn, company),
            paid_in_fen=paid_in_fen,
            share_bp=share_bp,
            acquired_on=day,
            funded_from=funded_from,
            idempotency_key=key,
        )

    used, stake = run_built(db, build, key=key, option_names=OPTION_NAMES)
    typer.echo(
        f"stake {stake['stake_id']}\t{company}\t{format_amount(paid_in_fen)}\t{share_bp} bp{_again(used)}"
    )


def _company(conn: Connection, company: str) -> int:
    try:
        return org_id_of(conn, company)
    except NotFound as exc:
        raise NotFound(exc.message, field="company") from None


@stake_app.command("list")
def stake_list(org: OneOrg, db: DbOption = None, as_json: JsonOption = False) -> None:
    """An org's stakes in companies (参股)."""
    if as_json:
        print_json(read(db, lambda conn: stakes.list_stakes(conn, org_id_of(conn, org))))
        return

    def work(conn: Connection) -> list[str]:
        return [
            f"{r['id']}\t{r['company']}\t{format_amount(r['paid_in_fen'])}\t{r['share_bp']}\t{r['acquired_on']}"
            for r in stakes.list_stakes(conn, org_id_of(conn, org))
        ]

    typer.echo("stake\tcompany\tpaid_in\tshare_bp\tacquired_on")
    for line in read(db, work):
        typer.echo(line)
