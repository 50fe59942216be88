"""The 58 mm receipt as ESC/POS bytes for a thermal printer, Chinese in GB18030.

The few commands a receipt needs are written out here rather than pulled in with a printer library (which
brings USB, serial, image and QR dependencies a server does not use): initialise, Chinese character mode,
alignment, double size for the store's name, the receipt's text (the same 32 columns as the plain-text
receipt), a CODE128 barcode of the receipt number (scanned back for a refund), feed and cut. The bytes
go to the printer unchanged (raw TCP port 9100, a USB print spooler's raw queue, or WebUSB).
"""

from __future__ import annotations

from pos.sales import receipt_text

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
CHINESE_MODE = FS + b"&"  # double-byte characters on (GB18030 / GBK printers)
CENTER, LEFT = ESC + b"a\x01", ESC + b"a\x00"
DOUBLE, NORMAL = GS + b"!\x11", GS + b"!\x00"
CUT = GS + b"V\x42\x03"  # feed 3 lines, then a partial cut


def _text(text: str) -> bytes:
    return text.encode("gb18030", errors="replace")


def code128(data: str, *, height: int = 60) -> bytes:
    """GS k 73: CODE128 in code set B, the human-readable text printed below."""
    payload = b"{B" + data.encode("ascii")
    if len(payload) > 255:
        raise ValueError("a CODE128 barcode holds at most 253 characters")
    return (
        GS + b"h" + bytes([height]) + GS + b"w\x02" + GS + b"H\x02" + GS + b"k\x49" + bytes([len(payload)])
    ) + payload


def receipt_bytes(sale: dict) -> bytes:
    """The sale's receipt for an ESC/POS printer: title centred and doubled, body, barcode, cut."""
    title, _, body = receipt_text(sale).partition("\n")
    out = [INIT, CHINESE_MODE, CENTER, DOUBLE, _text(title.strip()), b"\n", NORMAL, LEFT, _text(body)]
    number = sale["receipt"]["receipt_no"]
    if number.isascii() and number.isprintable():
        out += [CENTER, code128(number), b"\n", LEFT]
    out.append(CUT)
    return b"".join(out)
