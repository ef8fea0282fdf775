"""The RunDetails widget: live run views for Jupyter, with static fallbacks."""
