"""Training step: fit a ridge regression on the prepared training rows."""

import argparse
import os
import pickle

import pandas as pd
from sklearn.linear_model import Ridge

from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--prepared")
parser.add_argument("--model")
parser.add_argument("--alpha", type=float, default=1.0)
args = parser.parse_args()

train = pd.read_csv(os.path.join(args.prepared, "train.csv"))
model = Ridge(alpha=args.alpha).fit(train.drop(columns="target"), train.target)
os.makedirs(args.model, exist_ok=True)
with open(os.path.join(args.model, "model.pkl"), "wb") as handle:
    pickle.dump(model, handle)
Run.get_context().log("alpha", args.alpha)
print(f"trained a ridge model with alpha={args.alpha}")
