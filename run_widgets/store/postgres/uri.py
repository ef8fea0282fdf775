"""Parsing and redacting ``postgresql://`` store URIs (a password never reaches a message).

libpq's connection parameters may follow the path as a query string: TLS is
``?sslmode=verify-full&sslrootcert=/path/ca.crt`` (see :data:`FILE_PARAMETERS` for the ones
naming files, which a config file may give relative to itself). A password given as a
parameter (``password=``, ``sslpassword=``) is a secret like the one in the user part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from ...exceptions import UserErrorException

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
FILE_PARAMETERS = ("sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", "passfile")
"""Connection parameters that name files (TLS certificates and keys, the password file)."""
SECRET_PARAMETERS = ("password", "sslpassword")
"""Connection parameters that hold secrets."""


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
    secrets: tuple[str, ...] = ()

    @property
    def safe(self) -> str:
        """The URI without the password (for ``repr``, logs and error messages)."""
        user = f"{self.user}@" if self.user else ""
        return f"postgresql://{user}{self.host}:{self.port}/{self.database}"

    @property
    def tls(self) -> str | None:
        """The ``sslmode`` the URI asks for, if any (``verify-full``, ``require``...)."""
        return dict(parse_qsl(urlsplit(self.uri).query)).get("sslmode")

    def scrub(self, text: str) -> str:
        """``text`` with the password and other secrets (raw and URL-encoded) as ``***``."""
        text = text.replace(self.uri, self.safe)
        secrets = [self.password, urlsplit(self.uri).password, *self.secrets]
        for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


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
    query = parse_qsl(parts.query)
    secrets = tuple(value for key, value in query if key in SECRET_PARAMETERS and value)
    password = unquote(parts.password) if parts.password else None
    return PostgresTarget(
        uri=uri,
        conninfo=parts._replace(scheme="postgresql").geturl(),
        user=unquote(parts.username) if parts.username else None,
        password=password or dict(query).get("password") or None,
        host=host,
        port=port,
        database=database,
        secrets=secrets + _raw_secrets(parts.query),
    )


def _raw_secrets(query: str) -> tuple[str, ...]:
    """The secret parameters' values as written in the URI (still URL-encoded)."""
    found = []
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key in SECRET_PARAMETERS and value:
            found.append(value)
    return tuple(found)


def redact_query(query: str) -> str:
    """A URI's query string with the values of secret parameters replaced by ``***``."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key in SECRET_PARAMETERS for key, _ in pairs):
        return query
    return urlencode([(k, "***" if k in SECRET_PARAMETERS else v) for k, v in pairs], safe="/*")


def with_files_relative_to(uri: str, folder: Path) -> str:
    """``uri`` with relative file parameters (``sslrootcert=ca.crt``...) made absolute.

    A config file names files relative to itself; libpq would read them relative to the
    current directory, which differs between a notebook, a script and a child process.
    """
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    changed = [
        (key, str((folder / Path(value).expanduser()).resolve()))
        if key in FILE_PARAMETERS and value and not Path(value).expanduser().is_absolute()
        else (key, value)
        for key, value in pairs
    ]
    if changed == pairs:
        return uri
    return parts._replace(query=urlencode(changed, safe="/")).geturl()
