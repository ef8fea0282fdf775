"""Every widget: RunDetails, the sweep view, ExperimentDetails (ipywidgets, anywidget, bqplot).

Widgets draw what the read models of ``views`` decide; they read no store themselves.
Importing this package registers its view kinds (``runtime.REGISTRY.view_kinds``: the
widget ``RunDetails`` adds for a run type, e.g. :mod:`.sweep` for ``"hyperdrive"``,
:mod:`.pipeline` for ``"azureml.PipelineRun"``); the package ``run_widgets`` imports it
only when a widget is first used, so scripts never load ipywidgets or bqplot.

Layer: widgets, above ``views``; only ``mlflow`` and the package sit above it.
"""

from . import pipeline as _pipeline  # noqa: F401  (registers the "azureml.PipelineRun" view kind)
from . import sweep as _sweep  # noqa: F401  (registers the "hyperdrive" view kind)
