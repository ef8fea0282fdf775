"""Evaluation step: the model's mean squared error on the test rows."""

import argparse
import os
import pickle

import pandas as pd
from sklearn.metrics import mean_squared_error

from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--prepared")
parser.add_argument("--model")
args = parser.parse_args()

test = pd.read_csv(os.path.join(args.prepared, "test.csv"))
with open(os.path.join(args.model, "model.pkl"), "rb") as handle:
    model = pickle.load(handle)  # noqa: S301 - the model the previous step wrote
mse = mean_squared_error(test.target, model.predict(test.drop(columns="target")))
Run.get_context().log("test_mse", mse)
print(f"test mse: {mse:.1f}")
