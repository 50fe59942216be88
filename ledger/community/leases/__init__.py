"""Lease contracts (承包 / 租赁 / 参股分红) of a community or village collective.

``ledger.community.leases.schedule`` turns a contract's terms into its rent schedule: one line per calendar
month, to the fen, with the VAT split, the due date under the billing cycle, and the rent-free months. It is
pure (no database, no clock) so that the accrual posting (Dr 112 应收款 / Cr 50102 租赁收入, Cr 214 应交税费),
receipts and arrears aging built on top of it can be checked against worked examples. Nothing in this
package may change a schedule line that has already been posted: amendments and early termination only
cut the lines after them.
"""
