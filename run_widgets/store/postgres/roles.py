r"""Least-privilege roles on a PostgreSQL store: an owner, writers and viewers.

``python -m run_widgets.store.postgres.roles --store URI COMMAND`` (the URI of an
administrator: a superuser, or a role with ``CREATEROLE`` that owns the database)::

    create owner tracking_owner     a login role that owns the schema and migrates it
    create writer alice             a login role that creates runs and logs
    create viewer dashboard         a login role that reads everything, writes nothing
    grant writer bob                the same rights for a role that exists (LDAP, ...)
    revoke bob                      take writer and viewer rights away (runs stay)
    list                            who is what

``--sql`` prints the statements instead of running them (for an administrator to read and
run with ``psql``); a password is then never printed (set it with ``\password``). A new
role's password comes from ``--password-env VAR`` (the name of an environment variable)
or ``--password-prompt``, never from the command line.

What the kinds mean:

* the **owner** owns every table and sequence of the store: the first client it opens
  creates the schema, a newer run_widgets it opens migrates it; no other role needs DDL
  rights. Row-level security does not apply to it;
* **writers** are members of a group role (``<database>_writer`` unless chosen otherwise)
  holding exactly the rights of :data:`~.privileges.WRITER_GRANTS`. Row-level security
  (migration ``0007_roles``) lets a writer change only runs its role created (a sweep's
  or pipeline's children are created by the same role, so they are its own), the owner
  rows, progress rows, models and compute targets it made; it may also end as Failed a
  run whose owner process stopped sending heartbeats (:data:`~.schema.LOST_AFTER_S`);
* **viewers** are members of ``<database>_viewer``: ``SELECT`` on every table. Every view,
  query, export, ``RunDetails`` and ``ExperimentDetails`` works; a write is refused by
  the client before it is sent (``StorePermissionError``).

The groups' names are kept in the store (``access_roles``), so the owner's later
migrations give them their rights on new tables.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ...exceptions import StoreError
from .privileges import (
    KINDS,
    execute_all,
    grant_statements,
    group_roles,
    store_sequences,
    store_tables,
)
from .schema import migrate, read_version
from .uri import parse

ENV_STORE = "RUN_WIDGETS_STORE"
_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")


@dataclass(frozen=True)
class RoleRow:
    """One role of a store, as :func:`list_roles` reports it.

    Attributes:
        role: the role's name.
        kind: ``owner``, ``writer``, ``viewer`` or ``superuser`` (every right, no rules).
        login: whether the role can log in (a group role cannot).
    """

    role: str
    kind: str
    login: bool


class RolePlan:
    """The statements of one command, run on a connection or printed (``--sql``).

    Args:
        conn: an administrator's connection to the store's database (autocommit).
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.statements: list[sql.Composed] = []
        self.notes: list[str] = []

    def add(self, *statements: sql.Composed) -> None:
        """Append statements to the plan."""
        self.statements.extend(statements)

    def run(self) -> None:
        """Run the plan in one transaction (all of it or nothing)."""
        with self.conn.transaction():
            execute_all(self.conn, self.statements)

    def text(self) -> str:
        """The plan as SQL text, one statement a line."""
        lines = [f"-- {note}" for note in self.notes]
        lines += [statement.as_string(self.conn) + ";" for statement in self.statements]
        return "\n".join(lines)


def role_name(name: str) -> str:
    """``name`` if it is a plain role name (letters, digits, ``_``, ``$``, ``-``; ≤ 63).

    Raises:
        StoreError: anything else (it would need quoting everywhere it is typed).
    """
    if not _ROLE_NAME.fullmatch(name):
        raise StoreError(
            f"Role name {name!r}: use 1-63 letters, digits, '_', '$' or '-', starting with a "
            "letter or '_'."
        )
    return name


def _exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def default_groups(conn: psycopg.Connection) -> dict[str, str]:
    """The writer and viewer group names: the recorded ones, else ``<database>_<kind>``."""
    recorded = group_roles(conn)
    base = re.sub(r"[^A-Za-z0-9_]", "_", conn.info.dbname)[:50]
    return {kind: recorded.get(kind, f"{base}_{kind}") for kind in ("writer", "viewer")}


def ensure_store(conn: psycopg.Connection) -> None:
    """Create the store's schema if the database holds none yet (as the administrator)."""
    if read_version(conn) is None:
        migrate(conn)


def plan_groups(plan: RolePlan, groups: dict[str, str]) -> None:
    """Create the writer and viewer groups if missing, record them, give them their rights."""
    conn = plan.conn
    for kind, group in groups.items():
        if not _exists(conn, group):
            plan.add(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
        plan.add(
            sql.SQL(
                "INSERT INTO access_roles (kind, role) VALUES ({}, {})"
                " ON CONFLICT (kind) DO UPDATE SET role = excluded.role"
            ).format(sql.Literal(kind), sql.Literal(group))
        )
    schema = conn.execute("SELECT current_schema()").fetchone()
    assert schema is not None
    # PostgreSQL before 15 lets every role create tables in "public": writers must not.
    plan.add(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema[0])))
    plan.add(*grant_statements(conn, groups["writer"], groups["viewer"]))


def plan_login(plan: RolePlan, role: str, password: str | None) -> None:
    """Create login role ``role`` (with ``password``, if any)."""
    if _exists(plan.conn, role):
        raise StoreError(f"The role {role!r} exists already: use 'grant' to give it a kind.")
    if password is None:
        plan.add(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        plan.notes.append(f"{role} has no password: set one with \\password {role} in psql")
    else:
        plan.add(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )


def plan_grant(plan: RolePlan, kind: str, role: str) -> None:
    """Make ``role`` the store's owner, or a member of the writer or viewer group."""
    conn = plan.conn
    if kind not in KINDS:
        raise StoreError(f"Unknown kind {kind!r}: one of {', '.join(KINDS)}.")
    groups = default_groups(conn)
    plan_groups(plan, groups)
    name = sql.Identifier(role)
    if kind == "owner":
        schema = conn.execute("SELECT current_schema()").fetchone()
        assert schema is not None
        plan.add(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(conn.info.dbname), name
            ),
            sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema[0]), name
            ),
        )
        for table in store_tables(conn):
            plan.add(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(table), name))
        for sequence in store_sequences(conn):
            plan.add(
                sql.SQL("ALTER SEQUENCE {} OWNER TO {}").format(sql.Identifier(sequence), name)
            )
        # The owner re-grants the groups after its migrations: it needs to be able to.
        plan.add(*grant_statements(conn, groups["writer"], groups["viewer"], database=False))
        return
    for other in ("writer", "viewer"):
        if other != kind:
            plan.add(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(groups[other]), name))
    plan.add(sql.SQL("GRANT {} TO {}").format(sql.Identifier(groups[kind]), name))


def plan_revoke(plan: RolePlan, role: str) -> None:
    """Take ``role`` out of the writer and viewer groups (its runs stay as they are)."""
    owner = store_owner(plan.conn)
    if owner == role:
        raise StoreError(
            f"{role!r} owns the store; make another role its owner first (grant owner NAME)."
        )
    groups = default_groups(plan.conn)
    for group in groups.values():
        if _exists(plan.conn, group):
            plan.add(
                sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(role))
            )


def store_owner(conn: psycopg.Connection) -> str | None:
    """The role that owns the store's ``runs`` table (``None`` before the schema exists)."""
    row = conn.execute(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('runs')"
    ).fetchone()
    return None if row is None else str(row[0])


def list_roles(conn: psycopg.Connection) -> list[RoleRow]:
    """The store's owner, writers, viewers and the server's superusers."""
    found: list[RoleRow] = []
    owner = store_owner(conn)
    if owner is not None:
        login = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (owner,)
        ).fetchone()
        found.append(RoleRow(owner, "owner", bool(login and login[0])))
    for kind, group in group_roles(conn).items():
        rows = conn.execute(
            "SELECT m.rolname, m.rolcanlogin FROM pg_auth_members a"
            " JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member"
            " WHERE g.rolname = %s ORDER BY 1",
            (group,),
        ).fetchall()
        found += [RoleRow(str(name), kind, bool(login)) for name, login in rows]
    rows = conn.execute(
        "SELECT rolname FROM pg_roles WHERE rolsuper AND rolcanlogin ORDER BY 1"
    ).fetchall()
    found += [RoleRow(str(row[0]), "superuser", True) for row in rows if str(row[0]) != owner]
    return found


# ------------------------------------------------------------------------------ command --
def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m run_widgets.store.postgres.roles``."""
    cli = argparse.ArgumentParser(
        prog="python -m run_widgets.store.postgres.roles",
        description=(
            "Owner, writer and viewer roles on a PostgreSQL tracking store. Connect as an "
            "administrator (a superuser, or a CREATEROLE role owning the database); give the "
            "password the libpq ways (PGPASSWORD, ~/.pgpass), not on the command line."
        ),
    )
    cli.add_argument(
        "--store",
        help=f"the store's postgresql:// URI (default: ${ENV_STORE})",
        default=os.environ.get(ENV_STORE),
    )
    cli.add_argument(
        "--sql", action="store_true", help="print the SQL instead of running it (no passwords)"
    )
    commands = cli.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a login role of a kind")
    grant = commands.add_parser("grant", help="give an existing role a kind")
    for sub in (create, grant):
        sub.add_argument("kind", choices=KINDS)
        sub.add_argument("role", type=role_name)
    secret = create.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-env", metavar="VAR", help="read the new role's password from variable VAR"
    )
    secret.add_argument(
        "--password-prompt", action="store_true", help="ask for the new role's password"
    )
    revoke = commands.add_parser("revoke", help="take writer and viewer rights from a role")
    revoke.add_argument("role", type=role_name)
    commands.add_parser("list", help="the store's roles and their kinds")
    return cli


def _password(args: argparse.Namespace) -> str | None:
    if getattr(args, "password_env", None):
        value = os.environ.get(args.password_env)
        if not value:
            raise StoreError(f"The variable {args.password_env} holds no password.")
        return value
    if getattr(args, "password_prompt", False):
        return getpass.getpass(f"Password for the new role {args.role}: ")
    return None


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0, or 1 with a one-line error)."""
    args = parser().parse_args(argv)
    if not args.store:
        parser().error(f"give --store URI or set {ENV_STORE}")
    target = parse(args.store)
    try:
        with psycopg.connect(target.conninfo, autocommit=True, connect_timeout=10) as conn:
            if args.command == "list":
                for row in list_roles(conn):
                    login = "" if row.login else " (group, no login)"
                    print(f"{row.kind:<10} {row.role}{login}")
                return 0
            if not args.sql:
                ensure_store(conn)
            plan = RolePlan(conn)
            if args.command == "create":
                password = None if args.sql else _password(args)
                plan_login(plan, args.role, password)
                if args.sql and (args.password_env or args.password_prompt):
                    plan.notes.append(f"set the password with \\password {args.role} in psql")
            if args.command in ("create", "grant"):
                plan_grant(plan, args.kind, args.role)
            elif args.command == "revoke":
                plan_revoke(plan, args.role)
            if args.sql:
                print(plan.text())
            else:
                plan.run()
                print(
                    f"{args.command} {getattr(args, 'kind', '')} {args.role}: done".replace(
                        "  ", " "
                    )
                )
    except psycopg.Error as exc:
        print(f"error: {target.scrub(str(exc).strip())} ({target.safe})", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    """Entry point of ``python -m run_widgets.store.postgres.roles``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
