"""One SQL store for every SQL backend: the statements written once, over a dialect.

* ``store.py``: :class:`SqlStore`, the base class of the SQL backends, and its write path
  (every rule of :mod:`run_widgets.store.rules` applied in one transaction);
* ``reads.py``: experiments, runs, metric headers, point chunks, owners;
* ``run_query.py``: pages of runs, filtered and sorted in SQL;
* ``registries.py``: models, environments, compute targets;
* ``data_assets.py``: datastores, datasets, published pipelines, pipeline endpoints;
* ``transactions.py``, ``connections.py``: per-thread connections, transactions, retries;
* ``dialect.py``: :class:`Dialect`, what a database spells its own way;
* ``rows.py``: the columns selected and the records built from them;
* ``schema.py``: the tables, written once and rendered per backend by its migrations.

A new SQL backend is a subpackage beside ``sqlite/`` and ``postgres/``: a ``Dialect``
subclass, a ``SqlStore`` subclass that opens (checks, migrates) connections and
translates the driver's errors, its ``ColumnTypes`` and migrations, and a
:class:`~run_widgets.store.base.StoreBackend` declaration for the registry.
"""

from .dialect import Dialect
from .store import SqlStore

__all__ = ["Dialect", "SqlStore"]
