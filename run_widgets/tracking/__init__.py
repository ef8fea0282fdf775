"""What a run is made of: the parts the ``Run`` façade delegates to, and the rules they share.

Modules, one job each:

* ``core``: what the parts of one ``Run`` object share (store, record, state, files; ``write``, ``refresh``);
* ``state``: what one process knows about one run (its point buffer, whether it runs it);
* ``logger``: the logging calls (``log`` & co.), the hot path;
* ``buffer``: the in-memory points not yet written (drained by the runtime's flusher);
* ``values``: validation and conversion of everything users log;
* ``artifact_metrics``: images and JSON metrics stored as files;
* ``labels``: tags, properties, display name, description;
* ``files``: the run's files, outputs folder and snapshot;
* ``metrics``: reading metrics back (``get_metrics`` & co.);
* ``metric_views``: stored chunks turned into v1 shapes, numpy histories, DataFrames;
* ``children``: creating runs and child runs, listing children;
* ``status``: start/complete/fail/cancel, status reads, ownership (exit and cancel hooks);
* ``details``: the ``get_details()`` dictionaries and error entries;
* ``lifecycle``: every ``CreateRun``/``UpdateRun`` (status changes with their race conditions);
* ``reaper``: ending runs whose process died (runtime's judgement, lifecycle's writes);
* ``wait``: ``wait_for_completion`` and the log tail (``LogFollower``);
* ``run_table``: a pandas view of many runs;
* ``links``: the run's methods that reach higher layers through the registry;
* ``facade``: ``delegate``, how ``Run`` hands a method to a part.

Layer: tracking, above ``runtime`` and below the API façades (``workspace``, ``run``,
``experiment``): it never imports them; they are known here only by Protocols.
"""
