"""Encryption in transit: the team store over TLS with ``sslmode=verify-full`` (issue 24, item 2).

The test makes a throwaway certificate authority with ``openssl`` (and a second one, to
show the failure), a server certificate for ``localhost`` signed by the first, and starts
its own PostgreSQL server that accepts TLS connections only. Then:

* the URI ``...?sslmode=verify-full&sslrootcert=ca.crt`` opens the store (the server says
  the session is encrypted), in this process and in a child process;
* ``run_widgets.json`` names the CA file relative to itself and works from any folder;
* a wrong CA, a host name the certificate does not name, or a missing CA file fail with
  a message that names TLS and never prints the password.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import python_env

from run_widgets import Experiment, Workspace
from run_widgets.store.postgres import PostgresStore, StoreUnavailableError
from run_widgets.store.postgres.local_server import LocalPostgres

pytestmark = pytest.mark.postgres


def _openssl(*argv: str, cwd: Path) -> None:
    subprocess.run(["openssl", *argv], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> Path:
    """``ca.crt``, ``server.crt``/``server.key`` (localhost, signed by ca) and ``other.crt``."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=run_widgets test CA", cwd=folder)  # fmt: skip
    _openssl("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.crt", "-days", "2",
             "-subj", "/CN=another CA", cwd=folder)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
             cwd=folder)  # fmt: skip
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf",
             cwd=folder)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certificates(tmp_path_factory.mktemp("tls") / "certs")


@pytest.fixture(scope="module")
def tls_server(certificates: Path) -> Iterator[LocalPostgres]:
    server = LocalPostgres(fsync=False)
    try:
        server.enable_tls(certificates / "server.crt", certificates / "server.key", only=True)
        server.start()
        yield server
    finally:
        server.cleanup()


def _uri(server: LocalPostgres, host: str = "localhost", **parameters: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in parameters.items())
    return f"postgresql://postgres:{server.password}@{host}:{server.port}/postgres?{query}"


def _encrypted(uri: str) -> bool:
    with psycopg.connect(uri) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    return bool(row and row[0])


def test_verify_full_with_a_ca_file_in_the_uri(
    tls_server: LocalPostgres, certificates: Path, tmp_path: Path
) -> None:
    uri = _uri(tls_server, sslmode="verify-full", sslrootcert=str(certificates / "ca.crt"))
    assert _encrypted(uri)
    ws = Workspace(store=uri, artifacts=tmp_path / "files")
    try:
        run = Experiment(ws, "tls").start_logging(snapshot_directory=None)
        run.log("acc", 0.5)
        run.complete()
        code = (
            "from run_widgets import Workspace, Experiment\n"
            "ws = Workspace.from_config()\n"
            "run = Experiment(ws, 'tls').start_logging(snapshot_directory=None)\n"
            "run.log('acc', 0.75); run.complete()\n"
        )
        env = {**python_env(), **ws.description().environ()}
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
        assert sorted(r.get_metrics()["acc"] for r in Experiment(ws, "tls").get_runs()) == [
            0.5,
            0.75,
        ]
        assert tls_server.password not in repr(ws)
    finally:
        ws.close()


def test_verify_full_through_run_widgets_json_with_a_relative_ca(
    tls_server: LocalPostgres,
    certificates: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "project"
    (project / "certs").mkdir(parents=True)
    (project / "certs" / "ca.crt").write_bytes((certificates / "ca.crt").read_bytes())
    store = f"postgresql://postgres@localhost:{tls_server.port}/postgres"
    store += "?sslmode=verify-full&sslrootcert=certs/ca.crt"
    (project / "run_widgets.json").write_text(
        json.dumps({"store": store, "artifacts": "files"}), encoding="utf-8"
    )
    monkeypatch.setenv("PGPASSWORD", tls_server.password)  # libpq's way: not in the file
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")  # the CA is found relative to the config file
    ws = Workspace.from_config()
    try:
        assert ws.store.location.startswith("postgresql://postgres@localhost:")
        assert str(project / "certs" / "ca.crt") in ws.store_uri
        Experiment(ws, "tls-config").start_logging(snapshot_directory=None).complete()
        assert len(list(Experiment(ws, "tls-config").get_runs())) == 1
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("host", "ca", "expected"),
    [
        ("localhost", "other.crt", "certificate verify failed"),
        ("127.0.0.1", "ca.crt", 'does not match host name "127.0.0.1"'),
        ("localhost", "missing.crt", "root certificate file"),
    ],
    ids=["wrong-ca", "wrong-host-name", "missing-ca-file"],
)
def test_a_certificate_that_does_not_check_out_is_a_clear_tls_error(
    tls_server: LocalPostgres, certificates: Path, host: str, ca: str, expected: str
) -> None:
    uri = _uri(tls_server, host, sslmode="verify-full", sslrootcert=str(certificates / ca))
    with pytest.raises(StoreUnavailableError) as info:
        PostgresStore(uri)
    message = str(info.value)
    assert message.startswith("The TLS connection to the PostgreSQL tracking store"), message
    assert expected in message and "sslmode=verify-full" in message
    assert tls_server.password not in message and tls_server.password not in repr(info.value)


def test_the_server_refuses_a_connection_without_tls(tls_server: LocalPostgres) -> None:
    with pytest.raises(StoreUnavailableError) as info:
        PostgresStore(_uri(tls_server, sslmode="disable"))
    assert "no encryption" in str(info.value)
    assert tls_server.password not in str(info.value)
