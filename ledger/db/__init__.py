"""The database layer: the only package with SQL in it (tables, migrations, engine, queries)."""
