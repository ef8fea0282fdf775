"""Datastore credentials, sealed before they reach the tracking store.

A registered Azure Blob datastore needs an account key or a SAS token in every process
that reads it (a notebook, a step on another machine of a team). The tracking store is
shared, backed up and copied, so a key never goes there in plain text: it is encrypted
with **Fernet** (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) under a
*workspace secret key* kept outside the store:

* ``RUN_WIDGETS_SECRET_KEY``: the key itself (a Fernet key, 44 url-safe base64
  characters), e.g. from a CI secret; or
* ``RUN_WIDGETS_SECRET_KEY_FILE``: a file holding it; by default
  ``$RUN_WIDGETS_HOME/secret.key`` (``~/.run_widgets/secret.key``), created on first use with
  permissions 0600.

The store keeps the ciphertext and the key's id (the first 12 hex digits of its sha256), so
a machine without the key gets an error saying which key to copy there instead of a
failed request to Azure. Why not a reference to an environment variable per datastore:
v1 code passes the key as an argument (``account_key=...``), and the datastore must work
in every later session and in every step's process without the user re-exporting it.

Layer: data.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..exceptions import DataAccessError

ENV_KEY = "RUN_WIDGETS_SECRET_KEY"
ENV_KEY_FILE = "RUN_WIDGETS_SECRET_KEY_FILE"
ENV_HOME = "RUN_WIDGETS_HOME"
KEY_FILE_NAME = "secret.key"


def key_file() -> Path:
    """Where the workspace secret key is read from (and created if missing)."""
    configured = os.environ.get(ENV_KEY_FILE)
    if configured:
        return Path(configured).expanduser()
    home = os.environ.get(ENV_HOME)
    base = Path(home).expanduser() if home else Path.home() / ".run_widgets"
    return base / KEY_FILE_NAME


def _fernet_module() -> Any:
    try:
        from cryptography import fernet
    except ImportError:
        raise DataAccessError(
            "Datastore credentials are encrypted with the 'cryptography' package: "
            "pip install 'run_widgets[azure]'."
        ) from None
    return fernet


def _key(create: bool) -> bytes:
    from_env = os.environ.get(ENV_KEY)
    if from_env:
        return from_env.strip().encode("ascii")
    path = key_file()
    if path.is_file():
        return path.read_bytes().strip()
    if not create:
        raise DataAccessError(
            f"No workspace secret key on this machine ({path}, or {ENV_KEY}): copy the key "
            "file of the machine that registered the datastore here."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    key: bytes = _fernet_module().Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key + b"\n")
    return key


def key_id(key: bytes) -> str:
    """A short public id of a key (never the key)."""
    return hashlib.sha256(key).hexdigest()[:12]


def seal(secret: Mapping[str, str]) -> dict[str, str]:
    """``secret`` encrypted under the workspace secret key (created if missing)."""
    key = _key(create=True)
    token = _fernet_module().Fernet(key).encrypt(json.dumps(dict(secret)).encode("utf-8"))
    return {"scheme": "fernet", "key_id": key_id(key), "token": token.decode("ascii")}


def unseal(sealed: Mapping[str, str], owner: str) -> dict[str, str]:
    """The secret ``seal`` gave, decrypted with this machine's key.

    Raises:
        DataAccessError: no key here, or another key (the message names ``owner``, e.g. the
            datastore, and the id of the key it needs).
    """
    fernet = _fernet_module()
    try:
        key = _key(create=False)
    except DataAccessError as error:
        raise DataAccessError(f"The credentials of {owner} cannot be read: {error}") from None
    if sealed.get("key_id") != key_id(key):
        raise DataAccessError(
            f"The credentials of {owner} were encrypted with workspace secret key "
            f"{sealed.get('key_id')}; this machine's key is {key_id(key)} ({key_file()}). "
            "Copy the right key file here, or register the datastore again."
        )
    try:
        data = fernet.Fernet(key).decrypt(str(sealed["token"]).encode("ascii"))
    except (fernet.InvalidToken, KeyError, ValueError):
        raise DataAccessError(f"The stored credentials of {owner} are damaged.") from None
    secret: dict[str, str] = json.loads(data.decode("utf-8"))
    return secret
