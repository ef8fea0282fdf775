"""Parsing and redacting ``postgresql://`` store URIs (a password never reaches a message)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ...exceptions import UserErrorException

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class PostgresTarget:
    """Where a PostgreSQL store lives: the full URI (as given), a libpq URI, and its parts."""

    uri: str
    conninfo: str
    user: str | None
    password: str | None
    host: str
    port: int
    database: str

    @property
    def safe(self) -> str:
        """The URI without the password (for ``repr``, logs and error messages)."""
        user = f"{self.user}@" if self.user else ""
        return f"postgresql://{user}{self.host}:{self.port}/{self.database}"

    def scrub(self, text: str) -> str:
        """``text`` with the password (raw and URL-encoded) replaced by ``***``."""
        if self.password:
            text = text.replace(self.password, "***")
            raw = urlsplit(self.uri).password
            if raw:
                text = text.replace(raw, "***")
        return text.replace(self.uri, self.safe)


def parse(uri: str) -> PostgresTarget:
    """Split a ``postgresql://user:password@host:port/database`` URI.

    ``postgres://`` and SQLAlchemy's ``postgresql+psycopg://`` spellings are accepted too.

    Raises:
        UserErrorException: not a PostgreSQL URI, or it has no database name.
    """
    parts = urlsplit(uri)
    if parts.scheme not in SCHEMES:
        raise UserErrorException(
            f"A PostgreSQL store URI starts with postgresql://, not {parts.scheme or '(none)'}://."
        )
    try:
        port = parts.port or 5432
    except ValueError:
        raise UserErrorException("The port of the PostgreSQL store URI is not a number.") from None
    database = unquote(parts.path.lstrip("/"))
    host = parts.hostname or "localhost"
    if not database:
        raise UserErrorException(
            f"The PostgreSQL store URI postgresql://{host}:{port} names no database; "
            "add it as the path, e.g. postgresql://user@host:5432/tracking."
        )
    return PostgresTarget(
        uri=uri,
        conninfo=parts._replace(scheme="postgresql").geturl(),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=host,
        port=port,
        database=database,
    )
