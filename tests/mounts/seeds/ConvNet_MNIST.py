#!/usr/bin/env python3
"""Stand-in for the quickstart's cntk/ConvNet_MNIST.py (CNTK is not packaged here).

Same command line as the original: DATA_DIR MODEL_DIR. Reads DATA_DIR/Train-28x28_cntk_text.txt
and DATA_DIR/Test-28x28_cntk_text.txt in CNTK's text format (`|labels <one-hot> |features
<pixels>`), trains a softmax classifier with numpy, prints CNTK-style progress to stderr and
saves one model file per epoch into MODEL_DIR. With BATCHAI_TEST_GATE set (a path; $VARs are
expanded) it waits after the first epoch until that file exists, so a test can watch stderr.txt
grow while the job runs.
"""
import os
import sys
import time

import numpy as np

EPOCHS = 5


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load(path):
    labels, features = [], []
    with open(path) as f:
        for line in f:
            parts = line.split("|")
            fields = {p.split()[0]: p.split()[1:] for p in parts if p.strip()}
            labels.append([float(x) for x in fields["labels"]])
            features.append([float(x) for x in fields["features"]])
    return np.array(features) / 16.0, np.array(labels)


def main():
    data_dir, model_dir = sys.argv[1], sys.argv[2]
    x, y = load(os.path.join(data_dir, "Train-28x28_cntk_text.txt"))
    tx, ty = load(os.path.join(data_dir, "Test-28x28_cntk_text.txt"))
    log("Training %d samples, testing %d samples" % (len(x), len(tx)))
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.01, (x.shape[1], y.shape[1]))
    for epoch in range(1, EPOCHS + 1):
        for _ in range(50):
            z = x @ w
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            w -= 0.5 * x.T @ (p - y) / len(x)
        loss = -np.mean(np.sum(y * np.log(p + 1e-9), axis=1))
        error = 100.0 * np.mean(p.argmax(axis=1) != y.argmax(axis=1))
        log("Finished Epoch[%d of %d]: [Training] loss = %.6f * %d, metric = %.2f%% * %d"
            % (epoch, EPOCHS, loss, len(x), error, len(x)))
        with open(os.path.join(model_dir, "ConvNet_MNIST_%d.dnn" % epoch), "wb") as f:
            np.save(f, w)
        gate = os.path.expandvars(os.environ.get("BATCHAI_TEST_GATE", ""))
        if epoch == 1 and gate:
            while not os.path.exists(gate):
                time.sleep(0.05)
    test_error = 100.0 * np.mean((tx @ w).argmax(axis=1) != ty.argmax(axis=1))
    log("Final Results: Minibatch[1-%d]: errs = %.2f%% * %d" % (len(tx), test_error, len(tx)))
    print("test error %.2f%%" % test_error)
    return 0 if test_error < 15.0 else 1


if __name__ == "__main__":
    sys.exit(main())
