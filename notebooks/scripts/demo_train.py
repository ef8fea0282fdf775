# demo_train.py: a stand-in for a training job, slow enough to watch in RunDetails.
# It logs a loss curve and an accuracy curve per epoch, the learning-rate schedule as a
# table, a few single values, and evaluates three cross-validation folds as child runs.

import argparse
import math
import random
import time

from run_widgets import Run

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=60)
parser.add_argument("--delay", type=float, default=1.0, help="seconds per epoch")
args = parser.parse_args()

run = Run.get_context()
random.seed(0)
run.log("batch_size", 64)
run.log("optimizer", "sgd")

for epoch in range(args.epochs):
    loss = 2.0 * math.exp(-epoch / 15) + 0.08 * random.random()
    accuracy = 1 - 0.9 * math.exp(-epoch / 12) - 0.03 * random.random()
    run.log("loss", loss, step=epoch)
    run.log("accuracy", accuracy, step=epoch)
    run.log_row("learning rate", epoch=epoch, lr=0.1 * 0.95**epoch)
    print(f"epoch {epoch:3d}   loss {loss:.4f}   accuracy {accuracy:.3f}", flush=True)
    time.sleep(args.delay)

for fold in range(3):
    with run.child_run(f"fold {fold}") as child:
        child.log("accuracy", 0.9 + 0.02 * random.random())
        child.log("loss", 0.2 + 0.05 * random.random())
        print(f"fold {fold} evaluated", flush=True)
        time.sleep(args.delay)

run.log("final_accuracy", accuracy)
print("done")
