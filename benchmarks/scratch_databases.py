"""A throwaway PostgreSQL database for a benchmark run, shared by the benchmark scripts."""

from urllib.parse import urlparse, urlunparse


def postgres_database(url: str, name: str, *, in_place: bool = False):
    """Create a fresh database beside the one in ``url``; return its URL and a cleanup.

    ``in_place``: use the database of ``url`` itself, its public schema emptied before and
    after, for a role that may use only the databases it was given (not create others)."""
    import psycopg

    if in_place:
        admin = psycopg.connect(url, autocommit=True)

        def empty():
            admin.execute("DROP SCHEMA public CASCADE")
            admin.execute("CREATE SCHEMA public")

        def drop():
            empty()
            admin.close()

        empty()
        return url, drop
    parts = urlparse(url)
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()

    return urlunparse(parts._replace(path=f"/{name}")), drop
