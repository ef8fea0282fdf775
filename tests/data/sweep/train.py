# train.py for sweeps: the seed article's Ridge regression on the diabetes data, for one
# alpha given as an argument (HyperDrive passes each child's parameters: --alpha 0.35).

import argparse
import os

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, required=True)
args = parser.parse_args()

os.makedirs("./outputs", exist_ok=True)
X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

run = Run.get_context()
reg = Ridge(alpha=args.alpha)
reg.fit(X_train, y_train)
mse = mean_squared_error(reg.predict(X_test), y_test)
run.log("alpha", args.alpha)
run.log("mse", mse)
joblib.dump(value=reg, filename=f"outputs/ridge_{args.alpha:.2f}.pkl")
print(f"alpha is {args.alpha:.2f}, and mse is {mse:0.2f}")
