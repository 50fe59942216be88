"""Imports every module that defines tables, so SQLModel.metadata knows the whole schema."""

from ledger.db import models  # noqa: F401
