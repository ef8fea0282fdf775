"""Hyperparameter sweeps (HyperDrive names): parameter spaces, samplers and the sweep driver."""
