"""Settings, read once from the environment (``CUNSHE_*`` or ``DATABASE_URL``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

TILL_TOKEN_HOURS = 14.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CUNSHE_", extra="ignore")

    database_url: str = Field(default="sqlite:///./cunshe.db", validation_alias="DATABASE_URL")
    # The session-signing secret: never a default (ledger.access.secrets says where it is looked up).
    secret_key: str | None = None
    secret_file: Path | None = None
    # The Ed25519 key that signs month-close checkpoints (ledger.access.signing_key: where it is looked up).
    signing_key_file: Path | None = None
    # The public halves of every key that signed here (rotation keeps them): default <key file>.pub.
    signing_keyring_file: Path | None = None
    # The public checkpoint page (/verify/{code}): look-ups per client address.
    verify_rate_per_address: str = "30/minute"
    # Development mode only: a missing secret falls back to a public one instead of refusing to start.
    dev_mode: bool = False
    # Addresses (or CIDR ranges, comma-separated) of reverse proxies whose X-Forwarded-For is believed;
    # empty: none, the socket's peer is the client.
    trusted_proxies: str = ""
    # Origins besides the request's own that may POST the pages (a proxy that rewrites the Host header).
    allowed_origins: str = ""
    # Warm the report stack (pandas, WeasyPrint, fonts, the worker pool) in a background thread once the
    # app has started, so the first PDF does not pay for it: ``cunshe serve`` turns it on; tests leave it off.
    warm_reports: bool = False
    # A statement or catalogue file: uploaded (413 naming the file) or imported by the CLI (refused before
    # it is read).
    max_upload_bytes: int = 20 * 1024 * 1024
    # A report download (one, or a street's batch) is refused with 503 time_limit past this many seconds.
    report_seconds: float = Field(default=60.0, gt=0)
    max_sale_lead_seconds: int = 300
    # A till's token (the cashier's login at the till) is refused this long after it was issued: a shift.
    till_token_hours: float = Field(default=TILL_TOKEN_HOURS, gt=0)
    # Web logins (ledger.web.login_limits): attempts per client address and in all (limits' notation),
    # and at most this many argon2 checks at once, each waiting at most this long for its turn.
    login_rate_per_address: str = "10/minute"
    # Where the rate limits' counts live so that every worker process sees them (ledger.web.shared_limits):
    # a SQLite file of their own (`cunshe serve` makes one per server run); unset: each process's memory.
    limits_file: Path | None = None
    login_rate_overall: str = "60/minute"
    login_hash_slots: int = 1
    login_hash_wait_seconds: float = 2.0
    # A login refused by the rate limits is answered after this long (asyncio.sleep: no CPU), so a flood
    # that loops on its answers slows to one attempt per connection per delay.
    login_refusal_delay_seconds: float = 1.0
    # argon2id cost for passwords (OWASP-style defaults); tests lower them to keep the suite quick.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536


@lru_cache
def get_settings() -> Settings:
    return Settings()
