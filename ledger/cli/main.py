"""The ``cunshe`` command line (typer). Each command is a thin shell over the same services the API uses."""

from __future__ import annotations

import gc
import os
import secrets
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NoReturn

import typer

from ledger.books.errors import LedgerError
from ledger.cli.lazy import Lazy, LazyGroup, tidy_help
from ledger.cli.options import DbOption, KeyOption, engine_for, fail, org_id_of, org_of, run_built
from ledger.cli.progress import progress
from ledger.cli.tables import Col, JsonOption, print_json, print_table

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ledger.access.auth import Principal
    from ledger.access.service import Write
    from ledger.settings import Settings

tidy_help()


class Commands(LazyGroup):
    """``cunshe``: the commands below are defined in this module; the workflows' own sub-commands (``cunshe
    pos …``, ``cunshe leases …``) and the everyday ones that stand at the top level too (DESIGN §10:
    cunshe report, close-year, import-statement) are imported only when run (``ledger.cli.lazy``)."""

    lazy: ClassVar[dict[str, Lazy]] = {
        "report": Lazy(
            "ledger.cli.reports:report_cmd",
            "Write one report for an org (or a street's / the county's roll-up) to a file.",
        ),
        "report-batch": Lazy(
            "ledger.cli.reports:report_batch_cmd",
            "Render one report for every org below a street or the county into a zip, on all cores.",
        ),
        "close-year": Lazy(
            "ledger.cli.distribution:close_year_cmd",
            "年终结账: income and expenses into 321/3103, then 322/3104 (refused while sources are open).",
        ),
        "close-period": Lazy(
            "ledger.cli.periods:close_period_cmd",
            "结账: close a month (and the earlier open months named with --including).",
        ),
        "import-statement": Lazy(
            "ledger.cli.reconcile:import_statement_cmd",
            "Import a bank / WeChat Pay / Alipay statement file: every line or none; known lines are"
            " skipped.",
        ),
        "pos": Lazy(
            "ledger.cli.pos:app", "POS of the joint supermarkets (村社联动超市): catalogue, stores, stock."
        ),
        "community": Lazy(
            "ledger.cli.community:app",
            "A community's own business: assets, welfare posts (公益性岗位), brokerage, subsidies, stakes.",
        ),
        "leases": Lazy(
            "ledger.cli.leases:app",
            "Lease contracts (承包 / 租赁): contracts, rent receipts, deposits, accrual run, rent roll.",
        ),
        "reconcile": Lazy(
            "ledger.cli.reconcile:app", "Bank and payment statements: import, match, reconcile (对账)."
        ),
        "distribution": Lazy(
            "ledger.cli.distribution:app", "Year-end close and profit distribution (年终结账与收益分配)."
        ),
        "checkpoints": Lazy(
            "ledger.cli.checkpoints:app",
            "Signed month-close checkpoints (封账码).",
        ),
    }

    def invoke(self, ctx: Any) -> Any:
        """Run a command; whatever it raises is told in one line on stderr, never as a traceback."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # click's own: an exit code, a usage error
        except LedgerError as exc:
            fail(exc)
        except Exception as exc:
            refuse(exc)


def refuse(exc: Exception) -> NoReturn:
    """A database or file problem exits 2 like a refusal; anything else is a bug and exits 1.
    ``CUNSHE_DEBUG=1`` shows the traceback instead."""
    from sqlalchemy.exc import SQLAlchemyError

    if os.environ.get("CUNSHE_DEBUG"):
        raise exc
    if isinstance(exc, SQLAlchemyError):
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        typer.secho(
            f"error [database]: {cause} (is the database there? `cunshe init` makes it)", err=True, fg="red"
        )
        raise typer.Exit(2)
    if isinstance(exc, OSError):
        typer.secho(f"error [file]: {exc}", err=True, fg="red")
        raise typer.Exit(2)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    typer.secho(
        f"error [internal] {type(exc).__name__}: {message} (a bug: CUNSHE_DEBUG=1 shows where)",
        err=True,
        fg="red",
    )
    raise typer.Exit(1)


app = typer.Typer(
    cls=Commands,
    pretty_exceptions_enable=False,
    help="村社联营账本 cunshe-ledger: books of community collective economies.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Users and tokens.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)


@app.callback()
def _start() -> None:
    """Every command runs with the workflows' checks registered with the books."""
    from ledger import workflows

    workflows.start()


app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")


def _settings_for(db: str | None) -> Settings:
    from ledger.settings import get_settings

    settings = get_settings()
    return settings.model_copy(update={"database_url": db}) if db else settings


@app.command()
def init(db: DbOption = None) -> None:
    """Create or upgrade the database schema (idempotent); write the session secret and the checkpoint
    signing key if they are missing."""
    from ledger.access.secrets import ensure_secret_file, secret_path
    from ledger.db.migrate import upgrade

    engine = engine_for(db)
    upgrade(engine)
    typer.echo(f"schema ready: {engine.url.render_as_string(hide_password=True)}")
    settings = _settings_for(db)
    if settings.secret_key is None:
        path = secret_path(settings.secret_file, settings.database_url)
        made = ensure_secret_file(path)
        typer.echo(f"session secret {'written to' if made else 'kept in'} {path}")
    from ledger.access.signing_key import ensure_key_file, key_path, keyring_path, load_key, record_public_key

    key = key_path(settings.signing_key_file, settings.database_url)
    made = ensure_key_file(key)
    typer.echo(f"checkpoint signing key {'written to' if made else 'kept in'} {key}")
    ring = keyring_path(settings.database_url)
    record_public_key(ring, load_key(key))
    typer.echo(f"its public half is in {ring}")


@app.command("rotate-secret")
def rotate_secret(db: DbOption = None) -> None:
    """Replace the session secret with a new random one; every web session ends (API tokens keep working).

    Restart the server afterwards: a running one keeps signing with the secret it started with."""
    from ledger.access.secrets import rotate_secret_file, secret_path

    settings = _settings_for(db)
    if settings.secret_key is not None:
        typer.secho("CUNSHE_SECRET_KEY is set: rotate it where it is kept", err=True, fg="red")
        raise typer.Exit(2)
    path = secret_path(settings.secret_file, settings.database_url)
    rotate_secret_file(path)
    typer.echo(f"new session secret written to {path}; restart `cunshe serve`")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    db: DbOption = None,
    dev: Annotated[
        bool, typer.Option("--dev", help="development mode: serve even without a session secret")
    ] = False,
) -> None:
    """Serve the API and the web pages (uvicorn). Refuses to start without the secret `cunshe init` made."""
    if workers == 1:
        # No garbage collection while this process imports the app (and the fork server below its report
        # stack): ledger.app.serve_app freezes the start-up's heap and turns the collector on again.
        gc.disable()
    if db:
        os.environ["DATABASE_URL"] = db
    if dev:
        os.environ["CUNSHE_DEV_MODE"] = "1"  # the workers build their own settings from the environment
    # Each worker warms its report stack in the background once it listens (CUNSHE_WARM_REPORTS=0: not).
    os.environ.setdefault("CUNSHE_WARM_REPORTS", "1")
    warm = os.environ["CUNSHE_WARM_REPORTS"].strip().lower() not in ("0", "false", "no", "off", "f", "n", "")
    if workers == 1 and warm:
        # Before anything else: the report pool's fork server imports WeasyPrint and renders its warm-up
        # on the other core while this process imports the app, so the pool is warm soon after the
        # server listens (uvicorn runs one worker in this process, which starts its pool from it).
        # The fork server is a fork of this process once it has imported what both need (SQLAlchemy, the
        # tables, the report modules the routes import too): it imports only pandas and WeasyPrint itself.
        import reports.builders_batch
        import reports.registry  # noqa: F401
        from reports.forkserver import start_forked

        start_forked()

    import uvicorn

    from ledger.access.secrets import SecretMissing, load_secret
    from ledger.db.migrate import upgrade

    settings = _settings_for(db)
    try:
        load_secret(
            settings.secret_key,
            settings.secret_file,
            settings.database_url,
            dev_mode=dev or settings.dev_mode,
        )
    except SecretMissing as exc:
        typer.secho(f"cunshe serve: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    upgrade(engine_for(db))
    scratch = None
    if settings.limits_file is None:
        # The rate limits' counts in one file every worker of this server sees (ledger.web.shared_limits),
        # named to the workers through the environment; like counts in memory, they end with the server.
        import tempfile

        scratch = tempfile.mkdtemp(prefix="cunshe-limits-")
        os.environ["CUNSHE_LIMITS_FILE"] = os.path.join(scratch, "limits.sqlite")
    # Forwarded headers (X-Forwarded-For, -Proto) are believed only from the proxies named in
    # CUNSHE_TRUSTED_PROXIES; by default from nobody, so a client cannot pick the address it is throttled
    # and audited under (uvicorn's own default trusts 127.0.0.1).
    proxies = settings.trusted_proxies.strip()
    # A worker imports the app before it answers the supervisor's ping; on a busy 2-core machine that
    # could take longer than uvicorn's 5 s default, and the supervisor would kill and respawn workers.
    try:
        uvicorn.run(
            "ledger.app:serve_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            timeout_worker_healthcheck=60,
            ws="none",  # no route speaks WebSocket: ~10 ms of CPU at start not spent importing its protocol
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    finally:
        if scratch is not None:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


@org_app.command("add")
def org_add(
    code: str,
    name: str,
    kind: Annotated[str, typer.Option(help="county|street|community|village|company")],
    parent: Annotated[str | None, typer.Option(help="parent org (code or id)")] = None,
    standard: str | None = None,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Create an org (its statutory chart is loaded)."""
    from ledger.access import bookkeeping

    def build(actor: Principal, conn: Connection) -> Write[Any]:
        parent_id = org_id_of(conn, parent) if parent else None
        return bookkeeping.create_org(
            actor, code=code, name=name, kind=kind, parent_id=parent_id, standard=standard
        )

    _, made = run_built(db, build, key=key)
    typer.echo(f"org {made['id']} {code} created")


@org_app.command("list")
def org_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every org: id, code, kind, accounting standard, parent and name (an org is named by code or id)."""
    from sqlalchemy import select

    from ledger.db.engine import read_tx
    from ledger.db.models import Org

    t = Org.__table__
    with read_tx(engine_for(db)) as conn:
        orgs = conn.execute(select(t).order_by(t.c.id)).all()
    codes = {o.id: o.code for o in orgs}
    if as_json:
        keys = ("id", "code", "name", "kind", "standard", "parent_id")
        print_json([{k: getattr(o, k) for k in keys} | {"parent": codes.get(o.parent_id)} for o in orgs])
        return
    print_table(
        (Col("id", "right"), Col("code"), Col("kind"), Col("standard"), Col("parent"), Col("name")),
        [(o.id, o.code, o.kind, o.standard or "-", codes.get(o.parent_id, "-"), o.name) for o in orgs],
    )


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin|officer|community|cashier")],
    scope: Annotated[
        str | None, typer.Option(help="org code or id (officer: street/county; community: the org)")
    ] = None,
    store: Annotated[str | None, typer.Option(help="store code (cashier)")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="password for the web login; without it you are asked for one on a terminal (empty: make"
            " one), and elsewhere one is made; a made password is printed once, on stderr"
        ),
    ] = None,
    key: KeyOption = None,
    db: DbOption = None,
) -> None:
    """Create a user who can log in to the pages, and print a new API token once (on stdout)."""
    from sqlalchemy import select

    from ledger.access import users
    from ledger.db.models import Store

    def build(actor: Principal, conn: Connection) -> Write[Any]:
        scope_id = org_id_of(conn, scope) if scope else None
        store_id = None
        if store:
            st = Store.__table__
            row = conn.execute(select(st.c.id).where(st.c.code == store)).first()
            if row is None:
                raise LedgerError(f"no store {store!r}", field="store", code="not_found")
            store_id = row.id
        return users.add_user(
            actor,
            username=username,
            role=role,
            scope_org_id=scope_id,
            scope_store_id=store_id,
            password=password,
        )

    made = password is None or password == ""
    if password is None and sys.stdin.isatty():
        password = typer.prompt(
            "password (empty: make one)",
            default="",
            show_default=False,
            hide_input=True,
            confirmation_prompt=True,
        )
        made = password == ""
    if made:
        password = secrets.token_urlsafe(12)
    _, issued = run_built(db, build, key=key)
    token = issued["token"]
    if token is None:  # a rerun under --key: the user exists; its token was shown the first time
        typer.echo(f"user {username} was created by an earlier run with this key; its token was shown then")
        return
    typer.echo(token)
    if made:
        typer.echo(
            f"password for {username} (shown once, change it after the first login): {password}", err=True
        )


def _user_write(db: str | None, write: Write[Any]) -> Any:  # the write's JSON answer
    """Carry out a user ``Write`` as the system actor (audited as the command line)."""
    from ledger.access.service import carry_out

    try:
        return carry_out(engine_for(db), None, write, key=None).body
    except LedgerError as exc:
        fail(exc)


@user_app.command("list")
def user_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every user: id, name, role, scope, state and the ids of its tokens in force."""
    from ledger.access.users import list_users, user_json
    from ledger.db.engine import read_tx
    from ledger.settings import get_settings

    hours = get_settings().till_token_hours  # what `cunshe serve`'s token check runs with
    with read_tx(engine_for(db)) as conn:
        rows = list_users(conn, None, till_token_hours=hours)
    if as_json:
        print_json([user_json(r) for r in rows])
        return

    def scope(r: Any) -> str:
        if r.scope_org_id:
            return f"org {r.scope_org_id}"
        return f"store {r.scope_store_id}" if r.scope_store_id else "-"

    print_table(
        (Col("id", "right"), Col("username"), Col("role"), Col("scope"), Col("state"), Col("tokens")),
        [
            (
                r.user_id,
                r.username,
                r.role,
                scope(r),
                "disabled" if r.disabled else "active",
                ",".join(map(str, r.token_ids)) or "-",
            )
            for r in rows
        ],
    )


@user_app.command("disable")
def user_disable(username: str, db: DbOption = None) -> None:
    """Disable a user: every token revoked and every web session ended, at once (audited)."""
    from ledger.access.users import disable_user

    row = _user_write(db, disable_user(None, username))
    typer.echo(f"user {row['username']} disabled; its tokens are revoked and its sessions ended")


@user_app.command("enable")
def user_enable(username: str, db: DbOption = None) -> None:
    """Let a disabled user log in again (old tokens stay revoked: `cunshe user token` issues a new one)."""
    from ledger.access.users import enable_user

    row = _user_write(db, enable_user(None, username))
    typer.echo(f"user {row['username']} enabled")


@user_app.command("token")
def user_token(username: str, label: str = "cli", db: DbOption = None) -> None:
    """Issue a new API token for a user and print it, once."""
    from ledger.access.users import new_token

    typer.echo(_user_write(db, new_token(None, username, label))["token"])


@user_app.command("revoke-token")
def user_revoke_token(
    username: str,
    token_id: Annotated[int | None, typer.Option("--id", help="one token's id (`cunshe user list`)")] = None,
    all_tokens: Annotated[bool, typer.Option("--all", help="every token of the user")] = False,
    db: DbOption = None,
) -> None:
    """Revoke one token of a user (--id) or all of them (--all), at once (audited)."""
    from ledger.access.users import revoke_tokens

    if (token_id is None) != all_tokens:  # exactly one of the two
        typer.secho("give --id ID or --all", err=True, fg="red")
        raise typer.Exit(2)
    ids = _user_write(db, revoke_tokens(None, username, token_id))["revoked"]
    typer.echo(f"revoked {len(ids)} token(s): {', '.join(map(str, ids)) or 'none in force'}")


@app.command()
def verify(
    db: DbOption = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            "--checkpoints",
            help="also check the books against these exported checkpoints (cunshe checkpoints export)",
        ),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="with --checkpoints: check signatures against this key, not the installation's keyring: "
            "a key id / SHA-256 fingerprint (16+ hex digits), a base64 public key or a keyring file "
            "(repeatable)",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the findings as JSON (the exit code is the same)")
    ] = False,
) -> None:
    """Recompute every hash chain, voucher sequence, entry balance and trial balance; exit 1 on a break.
    With --checkpoints FILE, also check that the books still hold each signed month close in it, each
    signature under the installation's keys (its keyring) or those given with --key, never a key the file
    carries."""
    import contextlib

    from ledger.books.verify import verify_all
    from ledger.cli.checkpoints import verify_against
    from ledger.db.engine import read_tx

    with read_tx(engine_for(db)) as conn:
        problems = verify_all(conn)
        # With --json, stdout is the one JSON document: the checkpoints' own lines go to stderr.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            differing = verify_against(conn, checkpoints, key) if checkpoints is not None else 0
    if as_json:
        print_json(
            {
                "sound": not problems and not differing,
                "problems": [{**p.__dict__, "text": str(p)} for p in problems],
                "checkpoints_differing": differing if checkpoints is not None else None,
            }
        )
        if problems or differing:
            raise typer.Exit(1)
        return
    for p in problems:
        typer.secho(str(p), err=True, fg="red")
    if problems:
        typer.secho(
            f"verify: {len(problems)} problem(s); the first broken entry is named above", err=True, fg="red"
        )
    if problems or differing:
        raise typer.Exit(1)
    typer.echo("verify: every chain, voucher sequence and trial balance is sound")


@app.command()
def post(
    file: Annotated[
        Path,
        typer.Argument(
            help="a .csv file with the columns org,entry,date,memo,account,debit,credit (rows with the same"
            " entry label are one entry; a sample: docs/post-sample.csv) and, where an account asks for"
            " them, counterparty_id,contract_id,welfare_post_id,store_id; or a .json list of entries"
            ' {"org","date","memo","idempotency_key","lines":[{"account","debit"|"credit",'
            ' "counterparty_id"…}]}',
            exists=True,
            dir_okay=False,
        ),
    ],
    db: DbOption = None,
    batch: int = 1000,
) -> None:
    """Bulk-post entries from a file through the normal posting code (all or nothing per batch).

    CSV (UTF-8, a header row): org (code or id), entry (a label: rows with the same label form one entry,
    two lines at least), date (YYYY-MM-DD), memo, account (code), debit, credit (decimal yuan, one of the two
    per row), and optional columns counterparty_id, contract_id, welfare_post_id, store_id: a line names
    the 辅助核算 its account requires (112 应收款 its counterparty …), else the file is refused naming the
    entry and line. docs/post-sample.csv is a worked example. JSON: a list of entries, each {"org", "date",
    "memo", "idempotency_key" (optional), "lines": [{"account", "debit" or "credit", and the same ids}]}.
    An entry without its own key is keyed by the file's name and its entry label (JSON: its place), so
    posting the same file again posts nothing twice; changing an entry and posting the file again is
    refused (409) naming it. Audited as the CLI, one row a batch."""
    from ledger.books.bulk import read_entries_file
    from ledger.db.engine import read_tx

    try:
        with read_tx(engine_for(db)) as conn:
            drafts = read_entries_file(conn, file)
    except LedgerError as exc:
        fail(exc)
    posted = 0
    with progress("posting entries", total=len(drafts)) as bar:
        for start in range(0, len(drafts), batch):
            chunk = drafts[start : start + batch]
            _, done = run_built(db, partial(_bulk_write, chunk))
            posted += done["posted"]
            bar.advance(len(chunk))
    typer.echo(f"posted {posted} entries ({len(drafts) - posted} already there)")


def _bulk_write(drafts: list[Any], actor: Principal, _conn: Connection) -> Write[Any]:
    from ledger.access import bookkeeping

    return bookkeeping.post_batch(actor, drafts)


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="hledger|beancount")] = "beancount",
    org: Annotated[str | None, typer.Option(help="org code or id (default: every org, prefixed)")] = None,
    out: Annotated[Path | None, typer.Option(help="output file (default: stdout)")] = None,
    db: DbOption = None,
) -> None:
    """Export journals that hledger or Beancount load, to check our balances with their tools."""
    from ledger.books.export import export_journal
    from ledger.db.engine import read_tx

    with read_tx(engine_for(db)) as conn:
        org_id = org_id_of(conn, org) if org else None
        text = export_journal(conn, format, org_id=org_id)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


@app.command("backup")
def backup_cmd(
    out: Annotated[Path, typer.Option("--out", help="backup file to write")],
    db: DbOption = None,
) -> None:
    """A consistent backup: SQLite online backup, or pg_dump for PostgreSQL."""
    from ledger.cli.backup import backup

    try:
        backup(engine_for(db), out)
    except LedgerError as exc:
        fail(exc)
    typer.echo(f"backup written to {out}")


@app.command("restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(help="a file written by cunshe backup")],
    db: DbOption = None,
) -> None:
    """Restore a backup into an EMPTY database; then run cunshe verify."""
    from ledger.cli.backup import restore

    try:
        restore(engine_for(db), file)
    except LedgerError as exc:
        fail(exc)
    typer.echo("restored; now run: cunshe verify")


@app.command()
def demo(
    year: int = 2025,
    seed: int = 2025,
    scale: Annotated[float, typer.Option(help="fraction of the full year's activity (tests use less)")] = 1.0,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing if the database has orgs")] = False,
    statements_dir: Annotated[
        Path, typer.Option(help="where to write the bank and WeChat statements for the officer's open month")
    ] = Path("demo-statements"),
    url: Annotated[str, typer.Option(help="where the server will answer, for the printed links")] = (
        "http://127.0.0.1:8000"
    ),
    db: DbOption = None,
) -> None:
    """Build the demo county (deterministic for a given seed) and print the demo logins."""
    from ledger.db.migrate import upgrade
    from ledger.demo.build import build_demo, is_empty, logins_text

    engine = engine_for(db)
    upgrade(engine)
    if is_empty(engine):
        # The demo closes its months with signed checkpoints: the key ``cunshe init`` writes, written here
        # too when missing (``make run`` runs init first).
        from ledger.access.signing_key import ensure_key_file, key_path

        settings = _settings_for(db)
        key = key_path(settings.signing_key_file, settings.database_url)
        if ensure_key_file(key):
            typer.echo(f"checkpoint signing key written to {key}")
        with progress("building the demo county") as bar:
            result = build_demo(
                engine, year=year, seed=seed, scale=scale, statements_dir=statements_dir, progress=bar.note
            )
        for note in result.notes:
            typer.echo(note)
        typer.echo(f"demo county {year} built (seed {seed})")
    elif not if_empty:
        typer.secho(
            "the database already has orgs; the demo only loads into an empty database", err=True, fg="red"
        )
        raise typer.Exit(1)
    else:
        typer.echo("database already holds books; demo not loaded again")
    typer.echo(logins_text(seed, url.rstrip("/")))


@app.command("trial-balance")
def trial_balance_cmd(
    org: Annotated[str, typer.Argument(help="org code or id")],
    period: Annotated[str, typer.Argument(help="the first month, YYYY-MM (alone: that month)")],
    to: Annotated[str | None, typer.Option(help="the last month, YYYY-MM")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an org's 科目余额表: opening balance, the months' debits and credits, closing balance.

    Accounts with no balance and no movement are left out; the total row adds the top-level accounts,
    so its debit and credit columns agree pairwise when the books balance."""
    from ledger.books.money import format_amount
    from ledger.books.trial_balance import trial_balance
    from ledger.db.engine import read_tx

    with read_tx(engine_for(db)) as conn:
        found = org_of(conn, org)
        rows = trial_balance(conn, found.id, period, to)
    rows = [r for r in rows if r.opening_fen or r.debit_fen or r.credit_fen or r.closing_fen]
    if as_json:
        print_json([{**r.__dict__} for r in rows])
        return

    def sides(fen: int) -> tuple[str, str]:
        return (format_amount(fen), "") if fen > 0 else ("", format_amount(-fen)) if fen < 0 else ("", "")

    top = [r for r in rows if r.parent_code is None]
    total = (
        sum(max(r.opening_fen, 0) for r in top),
        sum(max(-r.opening_fen, 0) for r in top),
        sum(r.debit_fen for r in top),
        sum(r.credit_fen for r in top),
        sum(max(r.closing_fen, 0) for r in top),
        sum(max(-r.closing_fen, 0) for r in top),
    )
    amount = ("期初借方", "期初贷方", "本期借方", "本期贷方", "期末借方", "期末贷方")
    print_table(
        (Col("科目编码"), Col("科目名称"), *(Col(h, "right") for h in amount)),
        [
            (
                r.code,
                "  " * (r.level - 1) + r.name,
                *sides(r.opening_fen),
                format_amount(r.debit_fen) if r.debit_fen else "",
                format_amount(r.credit_fen) if r.credit_fen else "",
                *sides(r.closing_fen),
            )
            for r in rows
        ],
        total=("", "合计", *(format_amount(fen) for fen in total)),
        title=f"科目余额表 {found.name} ({found.code}) {period}" + (f" – {to}" if to else ""),
    )


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
