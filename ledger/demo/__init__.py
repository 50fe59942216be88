"""The demo county (``cunshe demo``): a deterministic county whose books reproduce the published figures.

It builds the org tree from ``ledger/data/demo_county.toml``, demo users with fixed logins and tokens, and
then a year of activity through the same services the API uses — never by writing totals in. It must only
ever run on an empty database (``--if-empty``), and its names are generic so no one mistakes its figures
for a real organisation's books.
"""
