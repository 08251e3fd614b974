"""Schema, migrations, repositories and secret encryption (PostgreSQL via psycopg 3)."""
