"""A throwaway PostgreSQL server in a folder, for tests, benchmarks and trying the team store.

It runs the host's own PostgreSQL binaries (Debian's ``postgresql`` package puts them in
``/usr/lib/postgresql/<version>/bin``): ``initdb`` a new cluster in a temporary folder,
``pg_ctl start`` it on 127.0.0.1 and a free port, and delete everything on :meth:`stop`.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system
user (``runuser -u postgres --``).

Run ``python -m run_widgets.store.postgres.local_server`` to start one and print its URI;
Ctrl-C, ``kill`` (SIGTERM) or closing its terminal (SIGHUP) stops the server and deletes
its folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ...exceptions import StoreError

SUPERUSER = "postgres"
PORT_ATTEMPTS = 5


def find_bindir() -> Path:
    """The folder of ``initdb``/``pg_ctl``: newest ``/usr/lib/postgresql/*/bin``, else PATH.

    Raises:
        StoreError: no PostgreSQL server binaries are installed.
    """
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StoreError(
        "No PostgreSQL server binaries found (initdb). Install them, e.g. "
        "`apt-get install postgresql` on Debian/Ubuntu."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPostgres:
    """One PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only.

    Args:
        fsync: keep PostgreSQL's durability settings (benchmarks); ``False`` is faster
            for tests that do not pull the plug.
        password: the superuser's password (random by default).
        parent: the folder to create the server's folder in (default: the system's
            temporary folder); a memory file system (``/dev/shm``) makes creating and
            dropping databases cheap.
    """

    def __init__(
        self,
        *,
        fsync: bool = True,
        password: str | None = None,
        parent: str | os.PathLike[str] | None = None,
    ) -> None:
        self.bindir = find_bindir()
        self.password = password or secrets.token_hex(12)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.folder = Path(tempfile.mkdtemp(prefix="run-widgets-pg-", dir=parent))
        self.datadir = self.folder / "data"
        self.logfile = self.folder / "server.log"
        self._fsync = fsync
        self._as_root = os.geteuid() == 0
        self._initdb()

    # --------------------------------------------------------------------------- setup --
    def _command(self, *argv: str) -> list[str]:
        if self._as_root:
            return ["runuser", "-u", SUPERUSER, "--", *argv]
        return list(argv)

    def _run(self, *argv: str) -> None:
        result = subprocess.run(self._command(*argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StoreError(
                f"{Path(argv[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def _initdb(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        if self._as_root:
            shutil.chown(self.folder, SUPERUSER)
            shutil.chown(pwfile, SUPERUSER)
        pwfile.chmod(0o600)
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.datadir),
            "-U", SUPERUSER,
            "--pwfile", str(pwfile),
            "--auth", "scram-sha-256",
            "-E", "UTF8",
            "--no-instructions",
        )  # fmt: skip
        pwfile.unlink()
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.folder}'",
            "max_connections = 200",
            "shared_buffers = 128MB",
        ]
        if not self._fsync:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n" + "\n".join(settings) + "\n")

    def enable_tls(
        self, certificate: str | os.PathLike[str], key: str | os.PathLike[str], *, only: bool = True
    ) -> None:
        """Serve TLS with ``certificate`` and its ``key`` (PEM files), from the next start.

        The files are copied into the server's folder (readable by the server only). With
        ``only``, connections without TLS are refused (``hostnossl ... reject``).
        """
        tls = self.folder / "tls"
        tls.mkdir(exist_ok=True)
        shutil.copyfile(certificate, tls / "server.crt")
        shutil.copyfile(key, tls / "server.key")
        for path in (tls, tls / "server.crt", tls / "server.key"):
            if self._as_root:
                shutil.chown(path, SUPERUSER)
        (tls / "server.key").chmod(0o600)
        with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                f"ssl = on\nssl_cert_file = '{tls / 'server.crt'}'\n"
                f"ssl_key_file = '{tls / 'server.key'}'\n"
            )
        if only:
            hba = self.datadir / "pg_hba.conf"
            rules = hba.read_text(encoding="utf-8")
            hba.write_text("hostnossl all all all reject\n" + rules, encoding="utf-8")

    # ----------------------------------------------------------------------- lifecycle --
    def start(self) -> None:
        """Start the server and wait until it accepts connections.

        If another process took the port meanwhile (several test workers start servers at
        once), the server moves to another free port, a few times.
        """
        for attempt in range(PORT_ATTEMPTS):
            try:
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
                    "-w", "-t", "60", "start",
                )  # fmt: skip
                return
            except StoreError:
                if attempt == PORT_ATTEMPTS - 1 or not self._port_was_taken():
                    raise
            self.port = free_port()
            with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(f"port = {self.port}\n")  # the last setting wins

    def _port_was_taken(self) -> bool:
        log = (
            self.logfile.read_text(encoding="utf-8", errors="replace")
            if self.logfile.exists()
            else ""
        )
        return "could not bind" in log or "already in use" in log

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: abort open transactions, disconnect clients)."""
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "-t", "60",
            "stop",
        )  # fmt: skip

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the server, stay down ``down_for`` seconds, start it again."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def cleanup(self) -> None:
        """Stop the server if it runs and delete its folder."""
        if (self.datadir / "postmaster.pid").exists():
            with contextlib.suppress(StoreError):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -------------------------------------------------------------------------- access --
    def uri(self, database: str = "postgres", *, password: bool = True) -> str:
        """A ``postgresql://`` URI of a database on this server."""
        secret = f":{self.password}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given); return its URI."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.uri(), autocommit=True) as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template is not None:
                statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
            conn.execute(statement)
        return self.uri(name)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that stop the server like Ctrl-C does (a service manager, ``kill``, a closed terminal)."""


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    """Start a server, print its URI, and keep it until Ctrl-C, SIGTERM or SIGHUP.

    Each of them stops the server and deletes its folder before the process ends (a
    SIGKILL cannot be caught: then ``pg_ctl -D <folder>/data stop`` and deleting the
    folder is left to the user).
    """
    for signum in STOP_SIGNALS:  # the default action would end Python without cleaning up
        signal.signal(signum, _stop_on_signal)
    server = LocalPostgres()
    try:
        server.start()
        print(server.uri(), flush=True)
        print(
            f"Server folder {server.folder}. Ctrl-C (or SIGTERM) stops the server and deletes "
            "its folder.",
            file=sys.stderr,
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
