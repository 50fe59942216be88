"""The checkpoint signing key's handling (issue 21, what was left of item 8): its path and its keyring come
from the settings; ``cunshe checkpoints rotate-key`` makes a new key sign from then on while the
checkpoints of the old one still verify (its public half is kept by key id, retired); ``cunshe verify
--checkpoints`` and ``/verify/{code}`` believe the installation's keys or a key given with ``--key`` —
never the public key a checkpoint carries, which whoever rewrote the database or the file could have put
there — and say which key they checked against.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import insert

from ledger.access.signing_key import load_key, read_keyring
from ledger.books import checkpoints
from ledger.books.checkpoints import Checkpoint, canonical, key_id_of
from ledger.cli.main import app as cli
from ledger.db.engine import write_tx
from ledger.db.models import PeriodCheckpoint
from ledger.settings import get_settings
from tests.factories.checkpoints import close, code_of, entry, export, post, runner
from tests.factories.county import County
from tests.factories.servers import url_of


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A key file of this test's own (the settings name it), written the way ``cunshe init`` does."""
    key = tmp_path / "keys" / "books.signing-key"
    monkeypatch.setenv("CUNSHE_SIGNING_KEY_FILE", str(key))
    monkeypatch.delenv("CUNSHE_SIGNING_KEYRING_FILE", raising=False)
    get_settings.cache_clear()
    try:
        yield key
    finally:
        get_settings.cache_clear()


def init(db: str) -> str:
    result = runner.invoke(cli, ["init", "--db", db])
    assert result.exit_code == 0, result.output
    return result.output


def verify(db: str, kept: Path, *keys: str):  # type: ignore[no-untyped-def]
    args = ["verify", "--db", db, "--checkpoints", str(kept)]
    for key in keys:
        args += ["--key", key]
    return runner.invoke(cli, args)


def resigned(line: dict, private: Ed25519PrivateKey, **changes: object) -> dict:
    """An exported line re-signed by ``private`` (named as the signer), with ``changes`` to its payload."""
    public = private.public_key().public_bytes_raw()
    payload = {**line["payload"], **changes, "key_id": key_id_of(public)}
    signature = private.sign(canonical(payload))
    return {
        **line,
        "payload": payload,
        "signature": base64.b64encode(signature).decode(),
        "key_id": key_id_of(public),
        "public_key": base64.b64encode(public).decode(),
        "code": checkpoints.code_of(signature),
    }


def write_lines(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_the_key_and_its_keyring_come_from_the_settings_and_init_records_the_public_half(
    own_key: Path, county: County
) -> None:
    said = init(url_of(county.engine))
    ring = own_key.with_name("books.signing-key.pub")
    assert f"checkpoint signing key written to {own_key}" in said and f"its public half is in {ring}" in said
    [known] = read_keyring(ring)
    assert known.key_id == load_key(own_key).key_id and known.retired_at is None
    assert (ring.stat().st_mode & 0o777) == 0o644  # public: whoever checks may read it


def test_after_a_rotation_the_new_key_signs_and_the_old_checkpoints_still_verify_against_the_kept_key(
    own_key: Path, client: TestClient, county: County, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    init(db)
    org = county.ids["dingzikou"]
    post(client, county, org, entry("2025-02-05", "300.00"))
    close(client, county, org, "2025-02")
    old = load_key(own_key)
    rotated = runner.invoke(cli, ["checkpoints", "rotate-key", "--db", db])
    assert rotated.exit_code == 0, rotated.output
    new = load_key(own_key)
    assert new.key_id != old.key_id
    assert f"signing key {old.key_id} retired; key {new.key_id} signs from now on" in rotated.output
    assert own_key.stat().st_mode & 0o077 == 0  # the new private key is owner-only too
    post(client, county, org, entry("2025-03-05", "105.00"))
    close(client, county, org, "2025-03")
    lines = export(db, tmp_path / "kept.jsonl")
    assert [line["payload"]["key_id"] for line in lines] == [old.key_id, new.key_id]
    checked = verify(db, tmp_path / "kept.jsonl")
    assert checked.exit_code == 0, checked.output
    assert f"{old.key_id} (the installation's keyring)" in checked.output
    assert f"{new.key_id} (the installation's keyring)" in checked.output
    ring = {k.key_id: k for k in read_keyring(own_key.with_name("books.signing-key.pub"))}
    assert ring[old.key_id].retired_at is not None and ring[new.key_id].retired_at is None
    for period in ("2025-02", "2025-03"):
        page = client.get(f"/verify/{code_of(client, county, period)}")
        assert "still agree" in page.text, period
    assert "已轮换的旧密钥" in client.get(f"/verify/{code_of(client, county, '2025-02')}").text
    # The retired key vouches for nothing dated after its retirement (had its private half leaked).
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds")
    forged = resigned(lines[0], old.private, closed_at=later)
    refused = verify(db, write_lines(tmp_path / "late.jsonl", [forged]))
    assert refused.exit_code == 1
    assert f"signed by key {old.key_id} after that key was retired" in refused.output


def test_verify_does_not_believe_a_key_the_file_carries_but_one_given_on_the_command_line(
    own_key: Path, client: TestClient, county: County, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    init(db)
    org = county.ids["dingzikou"]
    post(client, county, org, entry("2025-02-05", "300.00"))
    close(client, county, org, "2025-02")
    [line] = export(db, tmp_path / "kept.jsonl")
    # Someone re-signs the file with a key of their own and puts that key in it: the figures hold, the
    # signature holds under the key in the file, and still it is not a key this installation knows.
    stranger = Ed25519PrivateKey.generate()
    forged = write_lines(tmp_path / "forged.jsonl", [resigned(line, stranger)])
    refused = verify(db, forged)
    assert refused.exit_code == 1, refused.output
    stranger_id = key_id_of(stranger.public_key().public_bytes_raw())
    assert f"signed by key {stranger_id}, which is not a trusted key" in refused.output
    assert "the installation's keyring" in refused.output
    # Given on the command line by whoever keeps the file, a key is believed — and named as given.
    fingerprint = own_key.with_name("books.signing-key.pub")
    ours = load_key(own_key)
    for given, said in (
        (ours.key_id, f"{ours.key_id} (fingerprint {ours.key_id} given)"),
        (base64.b64encode(ours.public_bytes).decode(), f"{ours.key_id} (a key given with --key)"),
        (str(fingerprint), f"{ours.key_id} (keyring {fingerprint} given)"),
    ):
        checked = verify(db, tmp_path / "kept.jsonl", given)
        assert checked.exit_code == 0 and said in checked.output, checked.output
        assert verify(db, forged, given).exit_code == 1
    # The stranger's fingerprint makes the stranger's file pass: that is what giving a key means.
    assert verify(db, forged, stranger_id).exit_code == 0
    bad = verify(db, tmp_path / "kept.jsonl", "not-a-key")
    assert bad.exit_code == 2 and "--key 'not-a-key' is neither" in bad.output


def test_with_no_key_known_verify_says_so_instead_of_believing_the_file(
    client: TestClient, county: County, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = url_of(county.engine)
    org = county.ids["dingzikou"]
    post(client, county, org, entry("2025-02-05", "300.00"))
    close(client, county, org, "2025-02")  # signed with the session's key
    export(db, tmp_path / "kept.jsonl")
    monkeypatch.setenv("CUNSHE_SIGNING_KEY_FILE", str(tmp_path / "gone.signing-key"))
    get_settings.cache_clear()
    try:
        result = verify(db, tmp_path / "kept.jsonl")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "this installation knows no checkpoint key" in result.output


def test_the_verify_page_does_not_believe_a_checkpoint_re_signed_into_the_database(
    own_key: Path, client: TestClient, county: County, tmp_path: Path
) -> None:
    db = url_of(county.engine)
    init(db)
    org = county.ids["dingzikou"]
    post(client, county, org, entry("2025-02-05", "300.00"))
    close(client, county, org, "2025-02")
    [line] = export(db, tmp_path / "kept.jsonl")
    stranger = Ed25519PrivateKey.generate()
    forged = Checkpoint.from_export_line(json.dumps(resigned(line, stranger)))
    with write_tx(county.engine) as conn:  # the database owner adds a checkpoint of their own signing
        conn.execute(
            insert(PeriodCheckpoint.__table__).values(
                org_id=org,
                period="2025-02",
                code=forged.code,
                payload=canonical(forged.payload).decode(),
                signature=base64.b64encode(forged.signature).decode(),
                key_id=forged.key_id,
                public_key=base64.b64encode(forged.public_key).decode(),
                created_at=datetime.now(UTC),
            )
        )
    page = client.get(f"/verify/{forged.code}")
    assert page.status_code == 200 and "no longer agree" in page.text
    assert "not a trusted key" in page.text, page.text
    # The difference in the reader's language first (the catalogues' words), the other after it.
    zh = client.get(f"/verify/{forged.code}?lang=zh").text
    en = client.get(f"/verify/{forged.code}?lang=en").text
    assert f"签名未核验：签名密钥 {forged.key_id} 不是本系统信任的密钥。 The signature is not checked" in zh
    assert f"which is not a trusted key. 签名未核验：签名密钥 {forged.key_id}" in en
    assert "无效" in page.text  # the signature, in the reader's language (from the catalogues)
    assert str(own_key.parent) not in page.text  # the public page names no file of the server's
