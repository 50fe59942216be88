"""Reconciliation: statement imports (``importers``), and later matching and the 银行存款余额调节表."""
