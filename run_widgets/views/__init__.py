"""UI-free read models: what the widgets show, computed from the store without a kernel."""
