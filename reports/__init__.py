"""Reports: books → pandas DataFrames → JSON, XLSX, HTML and PDF.

``reports.statements`` computes the statutory statements from account balances given as plain data, using
the layouts in ``reports/layouts`` and the formula language of ``reports.formula``; ``reports.report``
describes any printed report; ``reports.render`` renders one through the Jinja2 templates in the
top-level ``templates/`` directory and WeasyPrint. Nothing here reads the database or runs SQL: callers
pass balances in, and templates only format what they are given.
"""
