"""Data preparation step: read the registered raw dataset, split it into train and test."""

import argparse
import os

from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--raw", help="the raw dataset's id (its data comes from run.input_datasets)")
parser.add_argument("--prepared", help="the folder to write train.csv and test.csv into")
parser.add_argument("--test-fraction", type=float, default=0.2)
args = parser.parse_args()

run = Run.get_context()
frame = run.input_datasets["raw"].to_pandas_dataframe()
test = frame.sample(frac=args.test_fraction, random_state=0)
train = frame.drop(test.index)
os.makedirs(args.prepared, exist_ok=True)
train.to_csv(os.path.join(args.prepared, "train.csv"), index=False)
test.to_csv(os.path.join(args.prepared, "test.csv"), index=False)
run.log("train_rows", len(train))
run.log("test_rows", len(test))
print(f"prepared {len(train)} training and {len(test)} test rows")
