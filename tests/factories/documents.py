"""Documents read back as text: a PDF's pages (pdftotext), and text with its whitespace flattened."""

from __future__ import annotations

import io
import re

import pdfplumber


def pdf_pages(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)
