"""A throwaway PostgreSQL database for a benchmark run, shared by the benchmark scripts."""

from urllib.parse import urlparse, urlunparse


def postgres_database(url: str, name: str):
    """Create a fresh database beside the one in ``url``; return its URL and a cleanup."""
    import psycopg

    parts = urlparse(url)
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()

    return urlunparse(parts._replace(path=f"/{name}")), drop
