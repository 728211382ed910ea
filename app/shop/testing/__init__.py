"""Test kits of the reference service: contracts its SQLite and PostgreSQL suites share."""
