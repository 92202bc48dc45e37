"""City-scale benchmark of SafeChain (issue 7): seeder, measurements, CI smoke check.

Nothing here is imported by the application; every script sets Django up itself against a
database of its own (``safechain_bench*``) created on the server named by ``DATABASE_URL``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "safechain_bench"


def database_url(name: str) -> str:
    """``DATABASE_URL`` (or the local default) with its database replaced by ``name``.

    Only names starting with ``safechain_bench`` are accepted: the benchmark drops and recreates
    its database, and must never be pointed at anyone else's.
    """
    if not name.startswith(DB_PREFIX):
        raise SystemExit(f"refusing database {name!r}: bench databases start with {DB_PREFIX!r}")
    url = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    if not url.scheme.startswith("postgres"):
        url = urlsplit(DEFAULT_SERVER)
    return urlunsplit((url.scheme, url.netloc, "/" + name, url.query, ""))


def setup_django(name: str) -> None:
    """Point Django at the bench database ``name`` and set it up (no DEBUG, in-memory broker)."""
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    # Pages are requested through Django's test Client, whose host is "testserver".
    hosts = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["ALLOWED_HOSTS"] = f"{hosts},testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
