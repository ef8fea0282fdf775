"""Version of the run_widgets package."""

__version__ = "0.1.0"
