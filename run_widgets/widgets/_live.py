"""What the live views (``RunDetails``, ``ExperimentDetails``) share.

Each shows two outputs, the live widget and a static snapshot kept for readers without a
kernel, refreshes on one :class:`~.poller.Poller`, and stops it when closed or when its
comm goes away. The views supply what differs: their poller key, ``_tick``, where a
refresh error is shown, and the snapshot itself (``static_bundle``).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets
import numpy as np
import traitlets

from ..views import export
from ..views.export import ChartData
from .poller import DEFAULT_INTERVAL_S, Poller

if TYPE_CHECKING:
    import pandas as pd

ENV_REFRESH = "RUN_WIDGETS_REFRESH_S"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MIN_INTERVAL_S = 0.1
CLOSE_JOIN_S = 5.0  # how long close() waits for a poller in the middle of a refresh


def in_kernel() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, nbclient)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def default_interval(refresh_interval: Any, settings: Any) -> float:
    """The refresh interval from the argument, else the settings, the environment, or 12 s.

    Raises:
        TypeError: ``refresh_interval`` is not a number, or ``settings`` is not a dict.
        ValueError: the interval is not a finite number of at least ``MIN_INTERVAL_S``.
    """
    source = "refresh_interval"
    if refresh_interval is None and settings is not None:
        if not isinstance(settings, Mapping):
            raise TypeError(f"widget_settings must be a dict, not {type(settings).__name__}.")
        if settings.get("refresh_interval") is not None:
            refresh_interval = settings["refresh_interval"]
            source = "widget_settings['refresh_interval']"
    if refresh_interval is None:
        text = os.environ.get(ENV_REFRESH, "").strip()
        if not text:
            return DEFAULT_INTERVAL_S
        try:
            refresh_interval = float(text)
        except ValueError:
            raise ValueError(
                f"The environment variable {ENV_REFRESH} must be a number of seconds, got {text!r}."
            ) from None
        source = f"the environment variable {ENV_REFRESH}"
    return _checked_interval(refresh_interval, source)


def _checked_interval(value: Any, source: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{source} must be a number of seconds, not {type(value).__name__} ({value!r})."
        )
    interval = float(value)
    if not (math.isfinite(interval) and interval >= MIN_INTERVAL_S):
        raise ValueError(
            f"{source} must be a finite number of seconds, at least {MIN_INTERVAL_S}; "
            f"got {value!r}."
        )
    return interval


def poll_error_text(error: BaseException | None, failures: int, delay: float) -> str:
    """What a view shows after a failed refresh (empty once a refresh succeeds again)."""
    if error is None:
        return ""
    return (
        f"Refreshing the view failed {failures} time(s) in a row "
        f"({type(error).__name__}: {error}); next try in {delay:g} s."
    )


class LiveView(ipywidgets.VBox):  # type: ignore[misc]
    """A live view's shared half: display, snapshot, poller and comm handling.

    A subclass sets ``refresh_interval``, ``widget_settings``, ``_closed``, ``_poller``
    and ``_static_handle`` in its ``__init__``, and defines ``_tick``,
    ``_on_poll_error`` and ``static_bundle``.
    """

    refresh_interval: float
    widget_settings: dict[str, Any]
    _closed: bool
    _poller: Poller | None
    _static_handle: Any

    def _tick(self) -> bool:
        raise NotImplementedError

    def _on_poll_error(self, error: BaseException | None, failures: int, delay: float) -> None:
        raise NotImplementedError

    def static_bundle(self, with_charts: bool = True) -> dict[str, str]:
        """The static snapshot: ``text/plain``, ``text/html`` and (if any) ``image/png``."""
        raise NotImplementedError

    # -------------------------------------------------------------------- exports --
    def chart_data(self) -> list[ChartData]:
        """What each chart that passes the metric filter draws, in the charts' order."""
        raise NotImplementedError

    def to_dataframe(self) -> pd.DataFrame:
        """The series the charts draw, one row per point (columns: ``views.export``).

        The same as each chart's "Save CSV", for every chart that passes the filter: runs'
        lines with their ``run_id``, groups' lines with their band.
        """
        return export.frame(self.chart_data())

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dataframe` to ``path`` as CSV (whole or not at all).

        Args:
            path: the CSV file to write (its folder must exist).

        Returns:
            The path written.

        Raises:
            OSError: ``path`` cannot be written (the message names it); the view goes on.
        """
        return export.write_csv(self.chart_data(), path)

    # -------------------------------------------------------------------- polling --
    def _start_poller(
        self,
        key: Any,
        name: str,
        on_stop: Callable[[], None],
        immediate: bool = False,
    ) -> Poller:
        self.stop_polling()
        self._poller = Poller(
            key,
            self._tick,
            self.refresh_interval,
            on_error=self._on_poll_error,
            name=name,
            immediate=immediate,
            on_stop=on_stop,
        ).start()
        return self._poller

    def stop_polling(self, wait: float | None = None) -> None:
        """Stop the background refresh (the view keeps what it shows).

        Args:
            wait: seconds to wait for a refresh in progress to end (default: don't wait).
        """
        if self._poller is not None:
            self._poller.stop(wait)
            self._poller = None

    @property
    def poller(self) -> Poller | None:
        """The poller refreshing this view, if any."""
        return self._poller

    # -------------------------------------------------------------------- display --
    def _final_bundle(self) -> dict[str, str]:
        """The snapshot with charts, or without them if they cannot be drawn."""
        try:
            return self.static_bundle(with_charts=True)
        except Exception:  # a chart that cannot be drawn must not keep a stale snapshot
            return self.static_bundle(with_charts=False)

    def live_bundle(self) -> dict[str, Any]:
        """The live widget output: the widget view plus a deterministic text repr."""
        return {
            WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": self.model_id},
            "text/plain": repr(self),
        }

    def _apply_settings(self, widget_settings: dict[str, Any] | None) -> None:
        """Take ``show()``'s v1-style settings (validated; a refresh interval is honoured)."""
        if widget_settings is not None:
            interval = default_interval(None, widget_settings)
            if widget_settings.get("refresh_interval") is not None:
                self.refresh_interval = interval
            self.widget_settings.update(widget_settings)

    def _display_live(self, closed_message: str) -> bool:
        """Display the live output; False (after printing the summary) outside a kernel.

        Raises:
            RuntimeError: the view was closed (with ``closed_message``).
        """
        if not in_kernel():
            print(self.text_summary())
            return False
        if self._closed:
            raise RuntimeError(closed_message)
        from IPython.display import display

        display(self.live_bundle(), raw=True)  # type: ignore[no-untyped-call]
        return True

    def _display_snapshot(self, with_charts: bool) -> None:
        """Display the static snapshot under a display id, so it can be rewritten later."""
        from IPython.display import display

        self._static_handle = display(  # type: ignore[no-untyped-call]
            self.static_bundle(with_charts=with_charts), raw=True, display_id=True
        )

    def text_summary(self) -> str:
        """What ``show()`` prints outside a kernel."""
        raise NotImplementedError

    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Display the view (see the subclass)."""
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        self.show()

    # ---------------------------------------------------------------------- close --
    @traitlets.observe("comm")
    def _on_comm(self, change: dict[str, Any]) -> None:
        if change["new"] is None:
            self.stop_polling()
