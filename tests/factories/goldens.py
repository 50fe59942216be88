"""Golden HTML of the reports: what may differ between two renders of the same books is normalised away.

The generated time, the chain head and its short code, and chart data vary; the stylesheet is inlined into
every report from templates/report.css, where it is reviewed, so the golden files hold only the report's
own markup and a CSS change does not rewrite them all.
"""

from __future__ import annotations

import re
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def normalised(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", "<style><stylesheet></style>", html, flags=re.S)
    html = re.sub(r"(生成时间：|Generated: )[^<]*", r"\1<generated>", html)
    html = re.sub(r"(校验：|Verification: )[0-9a-f]{16}", r"\1<chain-head>", html)
    html = re.sub(r"(短码 |short code )[0-9A-Z]{8}", r"\1<code>", html)
    return re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "data:image/svg+xml;base64,<chart>", html)
