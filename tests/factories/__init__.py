"""What the tests share, one set of factories: import the module you need, never another test module.

- ``county``: the test county (``build_county``) and the demo county's handle.
- ``databases``: where a test's database lives (a fresh copy of the migrated template, PostgreSQL's address).
- ``shop``: the one ``Shop``, built over HTTP (``build_shop``) or through the services (``seed_shop``).
- ``books``, ``checkpoints``, ``distribution``, ``leases``, ``reconcile``, ``report_books``, ``vouchers``:
  worked books of each workflow, every figure stated.
- ``statement_files``: bank and WeChat statement files as the exporters write them.
- ``web`` and ``browser``: the login form and CSRF token; Chromium, the live server and screenshots.
- ``doors``: the every-door actors (the seeded template, a ``World`` per test, what a request wrote).
- ``servers``: ``cunshe serve`` as a subprocess and the calls sent to it; ``documents``, ``goldens``,
  ``plaintext_accounting`` (hledger's and ledger-cli's balances of our export): what a test reads back.
"""
