"""``cunshe leases …``: lease contracts from the command line — register, list, show, terminate, renew,
amend, receive rent and deposits, refund deposits — plus the accrual run and the rent roll.

Thin shells over the services the API routes and the pages carry out (``ledger.community.services``): every
write goes through ``run_service`` (scope → ``--key`` → write → audit, one transaction) as the CLI's actor,
so a key used at the API is answered here with the API's answer. Input is parsed before anything is
written (amounts as decimal strings, never floats); a bad value exits 2 naming the option, and nothing is
written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from sqlalchemy import Connection, select

from ledger.books.errors import LedgerError, ValidationError
from ledger.books.money import format_amount, parse_amount
from ledger.books.orgs import get_org
from ledger.books.periods import parse_date
from ledger.cli.options import DbOption, engine_for, org_id_of, org_of, run_service
from ledger.cli.options import fail as fail_as
from ledger.cli.progress import progress
from ledger.cli.tables import JsonOption, print_json
from ledger.community import assets, services
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts, rentroll
from ledger.community.leases.schedule import BillingCycle, BillingTiming, LeaseTerms, choice, rent_schedule
from ledger.community.models import CYCLES, LEASE_MODES, TIMINGS
from ledger.db.engine import read_tx
from ledger.db.models import Counterparty, JournalEntry

app = typer.Typer(
    help="Lease contracts (承包 / 租赁): contracts, rent receipts, deposits, accrual run, rent roll.",
    no_args_is_help=True,
)

if TYPE_CHECKING:
    from ledger.access.auth import Principal
    from ledger.access.service import Write

T = TypeVar("T")

entry_t = JournalEntry.__table__
cp_t = Counterparty.__table__

OrgOption = Annotated[str | None, typer.Option("--org", help="a community or village (code or id)")]
StreetOption = Annotated[
    str | None, typer.Option("--street", help="a street (code or id): every collective org of it")
]
OneOrgOption = Annotated[str, typer.Option("--org", help="a community or village (code or id)")]
ContractOption = Annotated[int, typer.Option("--contract", help="contract id (see cunshe leases list)")]
CodeOption = Annotated[str, typer.Option("--code", help="合同编号, e.g. ZL-2026-01")]
StartOption = Annotated[str, typer.Option("--start", help="first day of the term, YYYY-MM-DD")]
EndOption = Annotated[str, typer.Option("--end", help="last day of the term (inclusive), YYYY-MM-DD")]
RentOption = Annotated[
    str, typer.Option("--rent", help='tax-inclusive rent of one billing cycle, e.g. "1600.00"')
]
CycleOption = Annotated[str, typer.Option("--cycle", help=" | ".join(CYCLES))]
TimingOption = Annotated[str, typer.Option("--timing", help=" | ".join(TIMINGS))]
FreeMonthsOption = Annotated[
    int, typer.Option("--free-months", help="rent-free contract months at the start (免租期)")
]
EscalationOption = Annotated[
    int, typer.Option("--escalation-bp", help="rent increase per step in bp (500 = 5 %)")
]
EveryOption = Annotated[
    int, typer.Option("--escalation-every-years", help="years between rent increases; 0 = never")
]
VatOption = Annotated[int, typer.Option("--vat-rate-bp", help="VAT in the rent in bp (500 = 5 %)")]
MemoOption = Annotated[str, typer.Option("--memo", help="a note kept with the record")]
DateOption = Annotated[str, typer.Option("--date", help="YYYY-MM-DD")]
CashOption = Annotated[str, typer.Option("--cash-account", help="102 银行存款 or 101 库存现金")]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="idempotency key: a retry with the same key posts nothing more")
]

# The services name fields as the API spells them; a CLI user fixes the option instead.
OPTION_NAMES = {
    "rent_per_cycle": "rent",
    "lessee_id": "lessee",
    "contract_id": "contract",
    "credit_contract_id": "contract",
    "asset_ids": "asset",
    "Idempotency-Key": "key",
    "idempotency_key": "key",
}


def fail(exc: LedgerError) -> NoReturn:
    """Tell the refusal naming the option to fix (``OPTION_NAMES``), and exit 2."""
    fail_as(exc, OPTION_NAMES)


def parsed(parse: Callable[[], T]) -> T:
    """What ``parse`` makes of the options, before any transaction starts; a refusal is told, exit 2."""
    try:
        return parse()
    except LedgerError as exc:
        fail(exc)


def write(
    db: str | None,
    org: str | Callable[[Connection], int],
    write_for: Callable[[Principal, int], Write[Any]],
    key: str | None = None,
) -> tuple[bool, Any]:
    """One write to the org's business (code or id, or found by ``org(conn)``) through its service, its
    refusals naming the option to fix: True first when ``--key`` had been used for this request, at any door
    (its first answer comes back, nothing is written)."""
    return run_service(db, org, write_for, key=key, option_names=OPTION_NAMES)


def read(db: str | None, work: Callable[[Connection], T]) -> T:
    """What ``work`` reads in one read transaction; a refusal is told, exit 2."""
    try:
        with read_tx(engine_for(db)) as conn:
            return work(conn)
    except LedgerError as exc:
        fail(exc)


def named_org(conn: Connection, org: str | None, street: str | None) -> int:
    """The org named by ``--org`` or the street named by ``--street`` (exactly one of them)."""
    if street is None:
        if org is None:
            raise ValidationError("give one of --org or --street", field="org")
        return int(org_of(conn, org).id)
    if org is not None:
        raise ValidationError("give one of --org or --street", field="org")
    row = org_of(conn, street)
    if row.kind != "street":
        raise ValidationError(f"{street} is a {row.kind}, not a street", field="street")
    return int(row.id)


def orgs_of(conn: Connection, org: str | None, street: str | None) -> list[int]:
    """The collective orgs named by ``--org`` or ``--street`` (exactly one of them)."""
    return leases.collective_orgs_under(conn, named_org(conn, org, street))


AGAIN = " (already recorded under this key)"


def again(used: bool) -> str:
    """What a command adds when ``--key`` had been used (at any door): the first answer, nothing written."""
    return AGAIN if used else ""


def collective_org(conn: Connection, code: str) -> int:
    """The one org a contract command works in: a community or village keeping collective books."""
    org_id = org_id_of(conn, code)
    leases.require_collective(conn, org_id)
    return int(org_id)


def parse_terms(
    *,
    start: str,
    end: str,
    rent: str,
    cycle: str,
    timing: str,
    free_months: int,
    escalation_bp: int,
    escalation_every_years: int,
    vat_rate_bp: int,
) -> LeaseTerms:
    """The terms as the API's ``TermsIn.terms()`` builds them; the service checks the rest."""
    return LeaseTerms(
        start=parse_date(start, "start"),
        end=parse_date(end, "end"),
        rent_per_cycle_fen=parse_amount(rent, "rent"),
        cycle=choice(BillingCycle, cycle, "cycle"),
        timing=choice(BillingTiming, timing, "timing"),
        free_months=free_months,
        escalation_bp=escalation_bp,
        escalation_every_years=escalation_every_years,
        vat_rate_bp=vat_rate_bp,
    )


def voucher_no(conn: Connection, entry_id: int) -> str:
    return str(conn.execute(select(entry_t.c.voucher_no).where(entry_t.c.id == entry_id)).scalar_one())


def lessee_names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(conn.execute(select(cp_t.c.id, cp_t.c.name).where(cp_t.c.id.in_(wanted))).all())


@app.command()
def accrue(
    through: Annotated[str, typer.Option("--through", help="YYYY-MM: post rent through this month")],
    org: OrgOption = None,
    street: StreetOption = None,
    db: DbOption = None,
) -> None:
    """Post every contract-month's rent through a month (idempotent: safe to rerun and to run twice)."""
    posted = replayed = amount = vouchers = 0
    org_ids = read(db, lambda conn: orgs_of(conn, org, street))
    # One transaction per org (the API's and the rent page's accrual service, for that org): each is
    # idempotent, so a rerun after an interruption finishes the rest.
    with progress(f"accruing rent through {through}", total=len(org_ids)) as bar:
        for org_id in org_ids:
            _, done = write(db, str(org_id), lambda actor, o: services.accrue(actor, o, through))
            posted, replayed, amount = (
                posted + done["posted"],
                replayed + done["replayed"],
                amount + parse_amount(done["amount"]),
            )
            vouchers += done["vouchers"]
            bar.advance()
    typer.echo(
        f"accrued {posted} contract-months through {through}: {format_amount(amount)}"
        + (f" on {vouchers} voucher{'s' if vouchers != 1 else ''}" if posted else "")
        + (f" ({replayed} already posted)" if replayed else "")
    )


@app.command("rent-roll")
def rent_roll_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    org: OrgOption = None,
    street: StreetOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rent roll and arrears aging as of a date; contracts ending within 90 days; idle assets."""
    try:
        day = parse_date(as_of, "as_of")
        with read_tx(engine_for(db)) as conn:
            ids = orgs_of(conn, org, street)
            rows = rentroll.rent_roll(conn, ids, day)
            idle = assets.list_assets(conn, ids, status="idle")
    except LedgerError as exc:
        fail(exc)
    if as_json:
        print_json(
            {
                "as_of": day,
                "contracts": rows,
                "aging": rentroll.aging_totals(rows),
                "expiring": rentroll.expiring(rows, day),
                "idle_assets": idle,
            }
        )
        return
    typer.echo("org\tcontract\tlessee\tmonthly\tbilled\treceived\toutstanding")
    for r in rows:
        typer.echo(
            f"{r.org_code}\t{r.code}\t{r.lessee}\t{format_amount(r.monthly_rent_fen)}\t{format_amount(r.billed_fen)}"
            f"\t{format_amount(r.received_fen)}\t{format_amount(r.outstanding_fen)}"
        )
    aging = rentroll.aging_totals(rows)
    typer.echo("aging: " + ", ".join(f"{k} {format_amount(v)}" for k, v in aging.items()))
    for r in rentroll.expiring(rows, day):
        typer.echo(f"expiring: {r.org_code} {r.code} {r.lessee} {r.terminated_on or r.end}")
    for a in idle:
        typer.echo(f"idle: {a['org_code']} {a['name']} {a['location']}")


@app.command("add")
def add_cmd(
    org: OneOrgOption,
    code: CodeOption,
    lessee: Annotated[str, typer.Option("--lessee", help="the lessee's name (承租方), created on first use")],
    start: StartOption,
    end: EndOption,
    rent: RentOption,
    mode: Annotated[str, typer.Option("--mode", help=" | ".join(LEASE_MODES))] = "lease",
    asset: Annotated[
        list[int] | None, typer.Option("--asset", help="asset id leased (repeat for several)")
    ] = None,
    cycle: CycleOption = "monthly",
    timing: TimingOption = "advance",
    free_months: FreeMonthsOption = 0,
    escalation_bp: EscalationOption = 0,
    escalation_every_years: EveryOption = 0,
    vat_rate_bp: VatOption = 500,
    deposit: Annotated[str, typer.Option("--deposit", help='deposit agreed (押金), e.g. "3200.00"')] = "0.00",
    memo: MemoOption = "",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Register a lease contract (its rent is posted month by month by the accrual run)."""
    terms = parsed(
        lambda: parse_terms(
            start=start,
            end=end,
            rent=rent,
            cycle=cycle,
            timing=timing,
            free_months=free_months,
            escalation_bp=escalation_bp,
            escalation_every_years=escalation_every_years,
            vat_rate_bp=vat_rate_bp,
        )
    )
    deposit_fen = parsed(lambda: parse_amount(deposit, "deposit"))
    used, c = write(
        db,
        org,
        lambda actor, org_id: services.add_contract(
            actor,
            org_id,
            code=code,
            mode=mode,
            terms=terms,
            lessee=lessee,
            asset_ids=asset or [],
            deposit_fen=deposit_fen,
            memo=memo,
        ),
        key,
    )
    typer.echo(f"contract {c['id']} {c['code']}{again(used)}")


@app.command("list")
def list_cmd(
    org: OrgOption = None, street: StreetOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """List the contracts of an org or a street, one tab-separated line each."""
    try:
        with read_tx(engine_for(db)) as conn:
            rows = []
            for org_id in orgs_of(conn, org, street):
                org_code = get_org(conn, org_id).code
                rows += [
                    (org_code, leases.get_contract(conn, org_id, c))
                    for c in leases.contract_ids(conn, org_id)
                ]
            names = lessee_names(conn, (c.lessee_id for _, c in rows))
    except LedgerError as exc:
        fail(exc)
    if as_json:
        print_json([{"org": code, "lessee": names.get(c.lessee_id, ""), **c._asdict()} for code, c in rows])
        return
    typer.echo("id\torg\tcode\tlessee\tstart\tend\trent\tcycle\tterminated_on")
    for org_code, c in rows:
        typer.echo(
            f"{c.id}\t{org_code}\t{c.code}\t{names.get(c.lessee_id, '')}\t{c.start_date}\t{c.end_date}"
            f"\t{format_amount(c.rent_per_cycle_fen)}\t{c.cycle}\t{c.terminated_on or ''}"
        )


@app.command("show")
def show_cmd(
    org: OneOrgOption, contract: ContractOption, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Show a contract's terms and its rent schedule (租金计划), one line per month."""
    try:
        with read_tx(engine_for(db)) as conn:
            org_id = org_id_of(conn, org)
            c = leases.get_contract(conn, org_id, contract)
            lessee = lessee_names(conn, [c.lessee_id]).get(c.lessee_id, "")
            asset_ids = leases.contract_asset_ids(conn, c.id)
            held = receipts.deposit_held(conn, c.id)
    except LedgerError as exc:
        fail(exc)
    if as_json:
        print_json(
            {
                **c._asdict(),
                "lessee": lessee,
                "asset_ids": asset_ids,
                "deposit_held_fen": held,
                "schedule": rent_schedule(leases.terms_of(c)),
            }
        )
        return
    typer.echo(f"contract {c.id} {c.code} ({c.mode})")
    typer.echo(f"lessee: {lessee}")
    typer.echo(f"term: {c.start_date} to {c.end_date}")
    if c.terminated_on is not None:
        typer.echo(f"terminated_on: {c.terminated_on}")
    typer.echo(f"rent: {format_amount(c.rent_per_cycle_fen)} {c.cycle}, {c.timing}")
    typer.echo(
        f"free_months: {c.free_months}; escalation: {c.escalation_bp} bp every {c.escalation_every_years}"
        f" years; vat: {c.vat_rate_bp} bp"
    )
    typer.echo(f"deposit: {format_amount(c.deposit_fen)} agreed, {format_amount(held)} held")
    if c.previous_id is not None:
        typer.echo(f"previous: {c.previous_id} ({c.relation})")
    if asset_ids:
        typer.echo("assets: " + ", ".join(str(a) for a in asset_ids))
    typer.echo("period\tdue\tamount")
    for ln in rent_schedule(leases.terms_of(c)):
        typer.echo(
            f"{ln.period}\t{ln.due_date}\t{format_amount(ln.amount_fen)}" + ("\tfree" if ln.free else "")
        )


@app.command("terminate")
def terminate_cmd(
    org: OneOrgOption,
    contract: ContractOption,
    last_day: Annotated[str, typer.Option("--last-day", help="the last day charged, YYYY-MM-DD")],
    settle_on: Annotated[
        str | None, typer.Option("--settle-on", help="date of the deposit entries (default: the last day)")
    ] = None,
    apply_deposit: Annotated[
        bool, typer.Option("--apply-deposit/--keep-deposit", help="let the deposit pay the arrears")
    ] = True,
    refund_rest: Annotated[
        bool, typer.Option("--refund-rest/--hold-rest", help="refund what the deposit has left")
    ] = False,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """End a contract early: no charges after the last day; the deposit pays the arrears."""
    last = parsed(lambda: parse_date(last_day, "last_day"))
    on = parsed(lambda: parse_date(settle_on, "settle_on")) if settle_on is not None else None
    used, done = write(
        db,
        org,
        lambda actor, org_id: services.terminate(
            actor,
            org_id,
            contract,
            last_day=last,
            settle_on=on,
            apply_deposit=apply_deposit,
            refund_rest=refund_rest,
        ),
        key,
    )
    typer.echo(
        f"contract {contract} {done['contract']['code']} terminated, last day {last}: deposit applied"
        f" {done['deposit_applied']}, refunded {done['deposit_refunded']}, left {done['deposit_left']}"
        + again(used)
    )


AsBeforeCycle = Annotated[
    str | None, typer.Option("--cycle", help=" | ".join(CYCLES) + " (default: as in the old contract)")
]
AsBeforeTiming = Annotated[
    str | None, typer.Option("--timing", help=" | ".join(TIMINGS) + " (default: as in the old contract)")
]
AsBeforeEscalation = Annotated[
    int | None,
    typer.Option("--escalation-bp", help="rent increase per step in bp (default: as in the old contract)"),
]
AsBeforeEvery = Annotated[
    int | None,
    typer.Option(
        "--escalation-every-years", help="years between increases (default: as in the old contract)"
    ),
]
AsBeforeVat = Annotated[
    int | None, typer.Option("--vat-rate-bp", help="VAT in the rent in bp (default: as in the old contract)")
]
DepositKeepOption = Annotated[
    str | None, typer.Option("--deposit", help="deposit agreed (default: the old contract's)")
]


SuccessorStartOption = Annotated[
    str,
    typer.Option("--start", help="first day of the new contract (an amendment's effective day), YYYY-MM-DD"),
]


def _supersede_command(relation: str, doc: str) -> Callable[..., None]:
    """``renew`` or ``amend``: a new contract linked to ``--contract`` (``leases.supersede_contract``), on
    the old contract's billing cycle, timing, escalation and VAT rate unless given (``successor_terms``)."""

    def command(
        org: OneOrgOption,
        contract: ContractOption,
        code: CodeOption,
        start: SuccessorStartOption,
        end: EndOption,
        rent: RentOption,
        cycle: AsBeforeCycle = None,
        timing: AsBeforeTiming = None,
        free_months: FreeMonthsOption = 0,
        escalation_bp: AsBeforeEscalation = None,
        escalation_every_years: AsBeforeEvery = None,
        vat_rate_bp: AsBeforeVat = None,
        deposit: DepositKeepOption = None,
        memo: MemoOption = "",
        key: KeyOption = None,
        db: DbOption = None,
    ) -> None:
        first, last = parsed(lambda: (parse_date(start, "start"), parse_date(end, "end")))
        rent_fen = parsed(lambda: parse_amount(rent, "rent"))
        deposit_fen = parsed(lambda: parse_amount(deposit, "deposit")) if deposit is not None else None
        used, new = write(
            db,
            org,
            lambda actor, org_id: services.supersede(
                actor,
                org_id,
                contract,
                relation=relation,
                code=code,
                start=first,
                end=last,
                rent_per_cycle_fen=rent_fen,
                cycle=cycle,
                timing=timing,
                free_months=free_months,
                escalation_bp=escalation_bp,
                escalation_every_years=escalation_every_years,
                vat_rate_bp=vat_rate_bp,
                deposit_fen=deposit_fen,
                memo=memo,
            ),
            key,
        )
        typer.echo(f"contract {new['id']} {new['code']}: {relation} of contract {contract}{again(used)}")

    command.__doc__ = doc
    return command


app.command("renew")(
    _supersede_command(
        "renewal",
        "Renew a contract: a new contract after the old one's end, same lessee, assets and billing, linked.",
    )
)
app.command("amend")(
    _supersede_command(
        "amendment", "Amend a contract from a date: a new linked contract; the old one ends the day before."
    )
)


@app.command("receipt")
def receipt_cmd(
    org: OneOrgOption,
    lessee: Annotated[str, typer.Option("--lessee", help="the lessee's name, as on the contract")],
    amount: Annotated[str, typer.Option("--amount", help='amount received, e.g. "2000.00"')],
    date_: Annotated[str, typer.Option("--date", help="day received, YYYY-MM-DD")],
    cash_account: CashOption = "102",
    contract: Annotated[
        int | None,
        typer.Option("--contract", help="contract to hold any overpayment (default: the lessee's latest)"),
    ] = None,
    memo: MemoOption = "",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Rent received (收租): pays the oldest charges first, the rest is credit; allocations: API only."""
    amount_fen, on = parsed(lambda: (parse_amount(amount, "amount"), parse_date(date_, "date")))
    used, r = write(
        db,
        lambda conn: collective_org(conn, org),
        lambda actor, org_id: services.receive_rent(
            actor,
            org_id,
            amount_fen=amount_fen,
            received_on=on,
            lessee=lessee,
            cash_account=cash_account,
            credit_contract_id=contract,
            memo=memo,
            idempotency_key=key,
        ),
        key,
    )
    applied, credit = r["applied"], r["credit"]
    typer.echo(f"{r['voucher_no']}: applied {applied}, credit {credit}{again(used)}")


def _deposit_move(
    kind: str,
    service: Callable[..., Any],
    org: str,
    contract: int,
    amount: str | None,
    day: str,
    cash_account: str,
    key: str | None,
    db: str | None,
) -> None:
    """Carry out a deposit movement's service (``services.receive_deposit`` or ``refund_deposit``, whose
    ``amount_fen`` None means all that is held) and tell its voucher and what the contract's deposit holds."""
    amount_fen = parsed(lambda: parse_amount(amount, "amount")) if amount is not None else None
    on = parsed(lambda: parse_date(day, "date"))

    def write_for(actor: Principal, org_id: int) -> Any:
        return service(
            actor,
            org_id,
            contract,
            amount_fen=amount_fen,
            on=on,
            cash_account=cash_account,
            idempotency_key=key,
        )

    used, done = write(db, org, write_for, key)
    voucher, held = read(
        db, lambda conn: (voucher_no(conn, done["entry_id"]), receipts.deposit_held(conn, contract))
    )
    typer.echo(f"{voucher}: deposit {kind} on contract {contract}, {format_amount(held)} held{again(used)}")


@app.command("deposit")
def deposit_cmd(
    org: OneOrgOption,
    contract: ContractOption,
    amount: Annotated[str, typer.Option("--amount", help='deposit received, e.g. "3200.00"')],
    date_: Annotated[str, typer.Option("--date", help="day received, YYYY-MM-DD")],
    cash_account: CashOption = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """押金 received on a contract: Dr 102 / Cr 21101 押金 (lessee, contract)."""
    _deposit_move("received", services.receive_deposit, org, contract, amount, date_, cash_account, key, db)


@app.command("refund-deposit")
def refund_deposit_cmd(
    org: OneOrgOption,
    contract: ContractOption,
    date_: Annotated[str, typer.Option("--date", help="day refunded, YYYY-MM-DD")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="amount refunded (default: all that is held)")
    ] = None,
    cash_account: CashOption = "102",
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """押金 refunded (all that is held unless --amount): Dr 21101 押金 / Cr 102."""
    _deposit_move("refunded", services.refund_deposit, org, contract, amount, date_, cash_account, key, db)
