"""The pages' words: every key the pages use has its words in both catalogues, no catalogue keeps a word
nobody uses, and the catalogues are read the way ``ledger.web.i18n`` promises (English falls back to
Chinese, a stale ``.mo`` is never read, a domain error is shown in the page's language).

The keys are found as ``make i18n`` finds them: Babel's extractor over ``babel.cfg`` with the keywords the
Makefile passes to ``pybabel extract``.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from ledger.books.errors import IdempotencyConflict, LedgerError, PeriodClosed
from ledger.web import i18n

ROOT = Path(__file__).resolve().parents[2]


def _keywords() -> dict[str, tuple[int, ...] | None]:
    """The ``-k`` options of the Makefile's ``I18N_KEYWORDS``: ``t``, ``flash:2``, ``N_``."""
    line = next(x for x in (ROOT / "Makefile").read_text().splitlines() if x.startswith("I18N_KEYWORDS"))
    keywords: dict[str, tuple[int, ...] | None] = {}
    for spec in re.findall(r"-k (\S+)", line):
        name, _, args = spec.partition(":")
        keywords[name] = tuple(int(a) for a in args.split(",")) if args else None
    assert keywords, line
    return keywords


def used_keys(root: Path, cfg: Path = ROOT / "babel.cfg") -> dict[str, list[str]]:
    """Every key the extractor finds under ``root``, with where it is used."""
    with cfg.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(cfg))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, method_map, options_map, keywords=_keywords()
    ):
        assert isinstance(message, str), (filename, lineno, message)
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def catalogue(locale: str) -> Catalog:
    with i18n.catalogue_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def entries(cat: Catalog) -> Iterator[tuple[str, str, bool]]:
    for message in cat:
        if message.id:
            assert isinstance(message.id, str) and isinstance(message.string, str), message.id
            yield message.id, message.string, message.fuzzy


def problems(used: dict[str, list[str]], catalogues: dict[str, Catalog]) -> list[str]:
    """A used key missing from a catalogue or without words (empty or fuzzy there), and an entry of a
    catalogue that nothing uses."""
    found = []
    for locale, cat in catalogues.items():
        words = {key: (text, fuzzy) for key, text, fuzzy in entries(cat)}
        for key, where in sorted(used.items()):
            if key not in words:
                found.append(f"{locale}: {key!r} (used at {where[0]}) is not in the catalogue")
            elif not words[key][0].strip() or words[key][1]:
                found.append(f"{locale}: {key!r} has no translation (empty or fuzzy)")
        found += [
            f"{locale}: {key!r} is in the catalogue but nothing uses it"
            for key in sorted(words)
            if key not in used
        ]
    return found


CATALOGUES = {locale: catalogue(locale) for locale in i18n.LOCALES.values()}


def test_every_key_the_pages_use_has_words_in_both_catalogues_and_every_word_is_used() -> None:
    used = used_keys(ROOT)
    assert len(used) > 250 and "trial_balance" in used and "kind_county" in used and "logged_out" in used
    assert problems(used, CATALOGUES) == []


def test_a_new_key_in_a_template_or_page_and_an_unused_word_are_reported(tmp_path: Path) -> None:
    (tmp_path / "templates" / "web").mkdir(parents=True)
    (tmp_path / "ledger" / "web").mkdir(parents=True)
    (tmp_path / "templates" / "web" / "new.html").write_text(
        "<p>{{ t('trial_balance') }} {{ t('no_such_key') }}</p>"
    )
    (tmp_path / "ledger" / "web" / "page.py").write_text('flash(request, "also_new")\nt(N_("period"))\n')
    used = used_keys(tmp_path)
    assert set(used) == {"trial_balance", "no_such_key", "also_new", "period"}
    found = problems(used, CATALOGUES)
    for locale in ("zh_CN", "en"):
        assert any(p.startswith(f"{locale}: 'no_such_key'") and "not in the catalogue" in p for p in found)
        assert any(p.startswith(f"{locale}: 'also_new'") for p in found)
        assert f"{locale}: 'logout' is in the catalogue but nothing uses it" in found
    emptied = catalogue("en")
    emptied["period"].string = ""
    assert "en: 'period' has no translation (empty or fuzzy)" in problems(used, {"en": emptied})


def test_both_catalogues_ask_for_the_same_fields() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    zh = {key: text for key, text, _ in entries(CATALOGUES["zh_CN"])}
    en = {key: text for key, text, _ in entries(CATALOGUES["en"])}
    # an error's words may leave out the books' own message and field (Chinese says it in its own words)
    differ = {
        key: (zh[key], en[key])
        for key in zh
        if key in en and fields(zh[key]) != fields(en[key]) and not key.startswith("error_code_")
    }
    assert differ == {}
    assert all(fields(en[key]) <= {"message", "field"} for key in en if key.startswith("error_code_"))


@pytest.fixture
def locale_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Catalogues of our own making in place of the package's."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()


def _write(locale_dir: Path, locale: str, words: dict[str, str], suffix: str = ".po") -> Path:
    cat = Catalog(locale=locale, fuzzy=False)
    for key, text in words.items():
        cat.add(key, text)
    path = locale_dir / locale / "LC_MESSAGES" / f"messages{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        (write_po if suffix == ".po" else write_mo)(f, cat)
    return path


def test_english_falls_back_to_chinese_and_a_key_without_words_shows_itself(locale_dir: Path) -> None:
    _write(locale_dir, "zh_CN", {"a": "甲", "b": "乙 {n}"})
    _write(locale_dir, "en", {"a": "A", "b": ""})
    en, zh = i18n.translator("en"), i18n.translator("zh")
    assert (en("a"), en("b", n=2), en("c")) == ("A", "乙 2", "c")
    assert (zh("a"), i18n.translator("fr")("a")) == ("甲", "甲")


def test_a_compiled_catalogue_is_read_only_when_it_is_not_older_than_its_po(locale_dir: Path) -> None:
    po = _write(locale_dir, "zh_CN", {"a": "新"})
    mo = _write(locale_dir, "zh_CN", {"a": "旧"}, suffix=".mo")
    os.utime(mo, (po.stat().st_mtime - 60, po.stat().st_mtime - 60))
    assert i18n.translator("zh")("a") == "新"
    i18n.translations.cache_clear()
    os.utime(mo, (po.stat().st_mtime + 60, po.stat().st_mtime + 60))
    assert i18n.translator("zh")("a") == "旧"


def test_a_domain_error_is_shown_in_the_pages_language_by_its_code() -> None:
    zh, en = i18n.translator("zh"), i18n.translator("en")
    closed = PeriodClosed("period 2026-01 is closed")
    assert "已结账，不能再记账" in i18n.error_text(closed, zh)
    assert i18n.error_text(closed, en) == "period 2026-01 is closed"
    assert "请刷新页面后重新填写" in i18n.error_text(IdempotencyConflict("key reused"), zh)
    odd = LedgerError("something the books said", code="no_words_for_this")
    assert i18n.error_text(odd, zh) == i18n.error_text(odd, en) == "something the books said"
