"""The query-parameter validator the API's routes use, shared with the pages: see ``ledger.params``."""

from ledger.params import (
    day_range_params,
    month_param,
    month_range_params,
    org_years,
    report_period_params,
    year_param,
)

__all__ = [
    "day_range_params",
    "month_param",
    "month_range_params",
    "org_years",
    "report_period_params",
    "year_param",
]
