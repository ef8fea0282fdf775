"""Ridge regression for a few alphas with numpy only; logs alpha and mse, saves the best.

Submitted by migrate-from-v1.ipynb in an isolated environment that adds `tabulate`.
"""

import pickle
from pathlib import Path

import numpy as np
from tabulate import tabulate

from run_widgets import Run

run = Run.get_context()
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 5))
y = X @ np.array([1.5, -2.0, 0.0, 0.7, 3.0]) + rng.normal(scale=0.5, size=200)
X_train, X_test, y_train, y_test = X[:150], X[150:], y[:150], y[150:]

rows = []
best = None
for alpha in [0.01, 0.1, 1.0, 10.0, 100.0]:
    weights = np.linalg.solve(X_train.T @ X_train + alpha * np.eye(5), X_train.T @ y_train)
    mse = float(np.mean((X_test @ weights - y_test) ** 2))
    run.log("alpha", alpha)
    run.log("mse", mse)
    rows.append((alpha, round(mse, 4)))
    if best is None or mse < best[1]:
        best = (alpha, mse, weights)

print(tabulate(rows, headers=["alpha", "mse"]))
Path("outputs").mkdir(exist_ok=True)
with open("outputs/model.pkl", "wb") as handle:
    pickle.dump({"alpha": best[0], "weights": best[2]}, handle)
run.log("best_alpha", best[0])
