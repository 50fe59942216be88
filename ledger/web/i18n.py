"""The workbench's words in Chinese (the default) and English, from Babel message catalogues.

The words live in ``ledger/locale/<locale>/LC_MESSAGES/messages.po`` (``zh_CN`` and ``en``); a translator
edits those, and ``make i18n`` extracts the keys the pages use (``babel.cfg``), updates both catalogues and
compiles them. A message id is a key (``"trial_balance"``), its translation the label, formatted with
``str.format`` fields (``"{count} vouchers"``).

Templates call the global ``t("key", field=...)`` (``render`` passes ``t=translator(lang)``; Jinja2's i18n
extension is not used); Python code calls ``t = translator(lang)`` then ``t("key")``, or
``flash(request, "key")``, and marks a key that travels as data with ``N_("key")`` so the extractor finds
it. A key missing in English falls back to Chinese; a key missing in both shows as the key itself, so a
forgotten label is visible, never an error (``tests/web/test_i18n_catalogues.py`` finds it first).

Compiled ``.mo`` files are neither committed nor shipped in the wheel (only the ``.po`` is package data): a
catalogue is read from its ``.mo`` when that is at least as new as the ``.po`` (after ``make i18n``), else
compiled from the ``.po`` in memory once per process (19 ms for both languages), so a fresh clone, an editable
install and a wheel all speak without a build step, and a ``.mo`` left stale by an edited ``.po`` is never
read (a wheel's files carry no trustworthy modification times, hence no ``.mo`` in it).

A domain error shown on a page is translated by its code and field (key ``error_code_<code>:<field>``),
else by its code (``error_code_<code>``), with the books' own English message as the ``{message}`` field;
the English catalogue's words for these are ``{message}`` itself. Without an entry, ``error_text`` (the
error page, a voucher's or the rent page's refusal) shows the books' message and ``error_words`` (a refused
form beside its field) puts it after ``error_unknown``'s lead-in.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.books.errors import LedgerError

if TYPE_CHECKING:
    from babel.support import NullTranslations

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
LOCALES = {"zh": "zh_CN", "en": "en"}
DEFAULT_LANG = "zh"
SIDES = {"en": {"借": "Dr", "贷": "Cr", "平": "—"}}


def N_(key: str) -> str:
    """Marks a key that is passed around as data (a table's column, a flash chosen by a condition): the
    extractor (``make i18n``) finds it here; it is translated where it is shown."""
    return key


# Keys the pages build from a value (``f"kind_{org.kind}"``, ``"source_" + entry.source``): listed here so the
# extractor keeps them in the catalogues.
KEY_FAMILIES = (
    *(N_("kind_county"), N_("kind_street"), N_("kind_community"), N_("kind_village"), N_("kind_company")),
    *(N_("kind_bank"), N_("kind_wechat"), N_("kind_alipay")),
    *(N_("clearing_title_bank"), N_("clearing_title_wechat"), N_("clearing_title_alipay")),
    *(N_("standard_collective"), N_("standard_small_enterprise")),
    *(N_("match_one_to_one"), N_("match_one_to_many"), N_("match_many_to_one")),
    *(N_("match_settlement"), N_("match_rule"), N_("match_manual")),
    *(N_("aging_current"), N_("aging_0-30"), N_("aging_31-90"), N_("aging_91-180"), N_("aging_>180")),
    *(N_("source_manual"), N_("source_pos"), N_("source_lease"), N_("source_brokerage")),
    *(N_("source_distribution"), N_("source_import"), N_("source_close"), N_("source_reversal")),
    *(N_("source_welfare"), N_("source_capital"), N_("source_stake")),
    *(N_("v_dim_contract"), N_("v_dim_welfare_post"), N_("v_dim_store")),
    *(N_("j_err_from"), N_("j_err_to"), N_("j_err_min"), N_("j_err_max")),
    *(N_("option_account"), N_("option_voucher"), N_("error_403"), N_("error_429")),
    *(N_("error_code_invalid_amount"), N_("error_code_invalid_quantity"), N_("error_code_unbalanced_entry")),
    *(N_("error_code_account_not_postable"), N_("error_code_period_closed"), N_("error_code_forbidden")),
    *(N_("error_code_idempotency_conflict"), N_("error_code_unauthenticated"), N_("error_code_time_limit")),
    *(N_("error_code_busy"), N_("error_code_too_many_attempts"), N_("error_code_override_reason")),
)


# A refused form's words by the domain's error code and field (``code:field``), then by code (``error_text``).
ERROR_KEYS = (
    N_("error_code_conflict:journal_line_ids"),
    N_("error_code_conflict:match"),
    N_("error_code_conflict:period"),
    N_("error_code_conflict:statement_line"),
    N_("error_code_conflict:statement_line_ids"),
    N_("error_code_invalid:amount"),
    N_("error_code_invalid:date"),
    N_("error_code_invalid:file"),
    N_("error_code_invalid:including"),
    N_("error_code_invalid:journal_line_ids"),
    N_("error_code_invalid:kind"),
    N_("error_code_invalid:ledger_account"),
    N_("error_code_invalid:lessee"),
    N_("error_code_invalid:match_ids"),
    N_("error_code_invalid:name"),
    N_("error_code_invalid:note"),
    N_("error_code_invalid:period"),
    N_("error_code_invalid:rule"),
    N_("error_code_invalid:statement_line_ids"),
    N_("error_code_invalid:through"),
    N_("error_code_not_found:journal_line_ids"),
    N_("error_code_not_found:ledger_account"),
    N_("error_code_not_found:lessee"),
    N_("error_code_not_found:match"),
    N_("error_code_not_found:rule"),
    N_("error_code_not_found:statement_line_ids"),
    N_("error_unknown"),
    # A query parameter refused for its value (``ledger.params.ParamRefused``), and days written wrongly.
    N_("param_outside_years"),
    N_("param_range_backwards"),
    N_("error_code_invalid:as_of"),
    N_("error_code_invalid:from"),
    N_("error_code_invalid:to"),
    # FastAPI's request validation on a page, by pydantic's error type (``validation_text``).
    *(N_("rv_missing"), N_("rv_int_parsing"), N_("rv_int_from_float"), N_("rv_string_too_long")),
    *(N_("rv_string_too_short"), N_("rv_string_pattern_mismatch"), N_("rv_greater_than_equal")),
    *(N_("rv_less_than_equal"), N_("rv_greater_than"), N_("rv_less_than")),
)


def catalogue_path(locale: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (``zh`` or ``en``; another language is Chinese), falling back to
    Chinese for a message it lacks."""
    lang = lang if lang in LOCALES else DEFAULT_LANG
    own = _load(LOCALES[lang])
    if lang != DEFAULT_LANG:
        own.add_fallback(translations(DEFAULT_LANG))
    return own


def _load(locale: str) -> NullTranslations:
    # Babel's catalogue modules are imported at the first page, not by every process that imports the pages
    # (~11 ms of CPU of a server's start).
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    po, mo = catalogue_path(locale), catalogue_path(locale, ".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as f:
            return Translations(f, domain=DOMAIN)
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # untranslated and fuzzy entries are left out, so they fall back
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **fields)``: the label in ``lang`` (Chinese when missing), formatted with ``fields``."""
    gettext = translations(lang).gettext

    def t(key: str, **fields: object) -> str:
        text = gettext(key)
        return text.format(**fields) if fields else text

    return t


def error_text(exc: LedgerError, t: Callable[..., str]) -> str:
    """A domain error in the page's language (``t`` from ``translator``): its own words where it carries
    them (``words`` and ``fields``: a refused query parameter, ``ledger.params``), else the catalogue's
    sentence for its code and field (key ``error_code_<code>:<field>``), else for its code, else the books'
    own message."""
    words = getattr(exc, "words", None)
    if words:
        text = t(words, field=exc.field or "", **getattr(exc, "fields", {}))
        if text != words:
            return text
    for key in (f"error_code_{exc.code}:{exc.field}", f"error_code_{exc.code}"):
        text = t(key, message=exc.message, field=exc.field or "")
        if text != key:
            return text
    return exc.message


def validation_text(errors: Sequence[Any], t: Callable[..., str]) -> str:
    """FastAPI's refusal of a request (pydantic's English, e.g. ``Input should be a valid integer``) in the
    page's language: the first error by its pydantic ``type`` (key ``rv_<type>``, with ``{field}`` and the
    error's limits such as ``{max_length}`` or ``{ge}``), else ``error_bad_value`` naming the field: never
    pydantic's English. The API's JSON keeps pydantic's message beside its code and field: clients switch on
    those."""
    first = errors[0] if errors else {}
    field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "?"
    limits = {
        k: v for k, v in (first.get("ctx") or {}).items() if isinstance(v, int | float | str) and k != "key"
    }
    key = f"rv_{first.get('type', '')}"
    text = t(key, field=field, **limits)
    return text if text != key else t("error_bad_value", field=field)


def error_words(lang: str, code: str, field: str | None, message: str) -> str:
    """A refused form's message in ``lang``: the words for its code and field, else for its code, else the
    domain's message after a lead-in (``error_unknown``; in English the message itself)."""
    t = translator(lang)
    for key in (f"error_code_{code}:{field}", f"error_code_{code}"):
        text = t(key, message=message, field=field or "")
        if text != key:
            return text
    return t("error_unknown", message=message)


@cache
def receipt_words(lang: str) -> dict[str, str]:
    """A printed receipt's words (``pos.sales.receipt_text``) in ``lang``: the till's receipt words, so the
    server's receipt and the till's own copy say the same (in Chinese, ``pos.sales.RECEIPT_WORDS_ZH``)."""
    t = translator(lang)
    return {
        "no": t("till_js_r_no"),
        "time": t("till_js_r_time"),
        "cashier": t("till_js_r_cashier"),
        "customer": t("till_js_r_customer"),
        "total": t("till_js_r_total"),
        "tax": t("till_js_r_tax"),
        "change": t("till_js_r_change"),
        "sale": t("till_js_r_sale"),
        "refund": t("till_js_r_refund"),
        "thanks": t("till_js_r_thanks"),
        "cash": t("till_js_cash"),
        "wechat": t("till_js_wechat"),
        "alipay": t("till_js_alipay"),
        "unionpay": t("till_js_unionpay"),
        "ecny": t("till_js_ecny"),
        "credit": t("till_js_credit"),
    }


def reader_lang(accept_language: str | None) -> str:
    """The language of a reader without a session (an API client): English when it is the first choice of
    their ``Accept-Language``, else Chinese."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else DEFAULT_LANG


def side_label(side: str, lang: str) -> str:
    """借 / 贷 / 平 as printed in the language of the page."""
    return SIDES.get(lang, {}).get(side, side)
