"""``GET /verify/{code}``: the public page behind a statement's checkpoint code (封账码), no login.

Anyone holding a printed statement types its code and sees what the signed month close says — the org, the
month, its totals and trial-balance digest, the chain head — and whether the books hold the same now
(``ledger.books.checkpoints.compare``). The signature is checked under the key the checkpoint names from
the installation's keyring (``ledger.access.signing_key.installation_trust``: files outside the database,
the current key and every key rotated away), never under the public key stored with it, so a checkpoint
re-signed with another key stored in the database does not pass. An unknown code is a 404; look-ups are
rate-limited per address (``verify_rate_per_address``), 429 with ``Retry-After``. The page reads; it
never writes and never shows anything else of the books.
"""

import contextlib
import math
import time

from fastapi import APIRouter, Request
from limits import parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from ledger.books import checkpoints
from ledger.books.money import format_money
from ledger.db.engine import read_tx
from ledger.http import client_addr
from ledger.web.i18n import LOCALES, N_, translator
from ledger.web.security import add_security_headers
from ledger.web.session import load_session
from ledger.web.shared_limits import limits_storage
from ledger.web.templating import environment

router = APIRouter(tags=["verify"])

# A difference's words by its code (``ledger.books.checkpoints.DIFFERENCE_TEXT``): ``vf_diff_<code>``.
DIFFERENCE_KEYS = (
    *(N_("vf_diff_payload_incomplete"), N_("vf_diff_key_not_trusted"), N_("vf_diff_key_retired")),
    *(N_("vf_diff_signature_invalid"), N_("vf_diff_chain_entry_gone"), N_("vf_diff_chain_rewritten")),
    N_("vf_diff_figures_differ"),
)
_MONEY = ("debit_fen", "credit_fen", "debit_fen_then", "credit_fen_then")


def difference_text(difference: checkpoints.Difference, lang: str) -> str:
    """One difference in ``lang``: the catalogue's sentence for its code, amounts as the reader writes them
    (the domain's English sentence if the catalogue has none)."""
    values: dict[str, object] = dict(difference.values)
    for name in _MONEY:
        if name in values:
            with contextlib.suppress(ValueError):  # a payload's figure not a whole number: shown as it is
                values[name] = format_money(int(str(values[name])), LOCALES.get(lang, "zh_CN"))
    key = f"vf_diff_{difference.code}"
    text = translator(lang)(key, **values)
    return str(difference) if text == key else text


class _Limiter:
    """Look-ups per client address, counted where the login limits are (``ledger.web.shared_limits``)."""

    def __init__(self, rate: str, storage: Storage) -> None:
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(storage)

    def admit(self, addr: str) -> int:
        """0 if the look-up may go on, else the seconds to wait."""
        if self.limiter.hit(self.item, "verify", addr):
            return 0
        reset = self.limiter.get_window_stats(self.item, "verify", addr).reset_time
        return max(1, math.ceil(reset - time.time()))


def _limiter(request: Request) -> _Limiter:
    state = request.app.state
    if getattr(state, "verify_limiter", None) is None:
        settings = state.settings
        state.verify_limiter = _Limiter(settings.verify_rate_per_address, limits_storage(settings))
    return state.verify_limiter


def _lang(request: Request) -> str:
    """``?lang=zh|en``, else the language of the reader's workbench session, else Chinese (a session
    cookie of a logged-in user is checked against the database: run in a thread)."""
    asked = request.query_params.get("lang")
    return asked if asked in LOCALES else load_session(request).lang


def other_lang(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def _page(lang: str, status: int, **context: object) -> HTMLResponse:
    """The page in the reader's language, the other language after each sentence (the catalogues' words)."""
    other = other_lang(lang)
    html = (
        environment()
        .get_template("verify.html")
        .render(lang=lang, t=translator(lang), t2=translator(other), **context)
    )
    response = HTMLResponse(html, status_code=status)
    add_security_headers(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _look_up(request: Request, code: str) -> tuple[checkpoints.Comparison | None, bool]:
    from ledger.access.signing_key import installation_trust  # cryptography: only when a code is looked up

    engine = request.app.state.engine
    with read_tx(engine) as conn:
        found = checkpoints.by_code(conn, code)
        if found is None:
            return None, False
        trust = installation_trust(engine.url.render_as_string(hide_password=False))
        return checkpoints.compare(conn, found, trust), bool(trust.keys)


@router.get("/verify/{code}", response_class=HTMLResponse, include_in_schema=False)
async def verify_checkpoint(request: Request, code: str) -> HTMLResponse:
    """The checkpoint of a statement's code and whether the books still agree with it."""
    wait = _limiter(request).admit(client_addr(request) or "?")
    lang = await run_in_threadpool(_lang, request)
    if wait:
        response = _page(lang, 429, state="limited", code=code[:16], wait=wait)
        response.headers["Retry-After"] = str(wait)
        return response
    parsed = checkpoints.parse_code(code[:32])
    comparison, key_checked = (
        (None, False) if parsed is None else await run_in_threadpool(_look_up, request, parsed)
    )
    if comparison is None:
        return _page(lang, 404, state="unknown", code=code[:16], wait=0)
    p = comparison.checkpoint.payload
    figures = comparison.figures_now
    return _page(
        lang,
        200,
        state="agrees" if comparison.agrees else "differs",
        code=comparison.checkpoint.code,
        wait=0,
        org_name=p.get("org_name"),
        org=p.get("org"),
        period=p.get("period"),
        closed_at=p.get("closed_at"),
        debit=format_money(int(p.get("debit_fen", 0)), "zh_CN"),
        credit=format_money(int(p.get("credit_fen", 0)), "zh_CN"),
        entries=p.get("entries"),
        digest=p.get("tb_sha256"),
        head_seq=p.get("head_seq"),
        head_hash=p.get("head_hash"),
        key_id=comparison.key.key_id if comparison.key else str(p.get("key_id", "")),
        key_retired=bool(comparison.key and comparison.key.retired_at),
        key_checked=key_checked,
        signature_ok=comparison.signature_ok,
        differences=[
            (difference_text(d, lang), difference_text(d, other_lang(lang))) for d in comparison.differences
        ],
        debit_now=format_money(figures.debit_fen, "zh_CN") if figures else "",
        credit_now=format_money(figures.credit_fen, "zh_CN") if figures else "",
    )
