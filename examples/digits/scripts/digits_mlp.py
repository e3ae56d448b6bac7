#!/usr/bin/env python3
"""Demo training job: a small numpy MLP on the 8x8 handwritten digits data set.

The analogue of Azure Batch AI's ConvNet_MNIST.py quickstart script. Reads
DATA_DIR/digits.csv.gz (1797 rows: 64 pixel columns then the label), trains a
64-128-10 MLP with minibatch SGD + momentum, prints CNTK-style progress lines to
stderr, saves a checkpoint per epoch into MODEL_DIR, and exits 0 only if the
test error is below 5%. Needs only the standard library and numpy.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np

TRAIN_SIZE, TEST_SIZE = 1437, 360
HIDDEN, CLASSES = 128, 10
MAX_TEST_ERROR = 5.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_data(data_dir):
    path = os.path.join(data_dir, "digits.csv.gz")
    if not os.path.isfile(path):
        # The quickstart uploads its data under names with 28x28_cntk in them: one .csv.gz file.
        found = sorted(n for n in os.listdir(data_dir) if n.endswith(".csv.gz")) \
            if os.path.isdir(data_dir) else []
        if len(found) == 1:
            path = os.path.join(data_dir, found[0])
    if not os.path.isfile(path):
        log("ERROR: data file not found: %s" % path)
        sys.exit(2)
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    x = data[:, :64] / 16.0
    y = data[:, 64].astype(np.int64)
    return path, x, y


def forward(params, x):
    w1, b1, w2, b2 = params
    h = np.maximum(x @ w1 + b1, 0.0)
    z = h @ w2 + b2
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return h, p


def save_model(model_dir, epoch, params):
    # Written under its final name: through rclone's FUSE mount of a share, a file renamed right
    # after it was written may reach the server under its first name (docs/mounts.md).
    final = os.path.join(model_dir, "digits_mlp_epoch_%02d.npz" % epoch)
    with open(final, "wb") as f:
        np.savez(f, w1=params[0], b1=params[1], w2=params[2], b2=params[3],
                 epoch=np.int64(epoch))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", metavar="DATA_DIR")
    ap.add_argument("model_dir", metavar="MODEL_DIR")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--sleep-per-epoch", type=float, default=0.0, metavar="SECONDS",
                    help="sleep this long after each epoch (for observing progress)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()
    if args.epochs < 1:
        ap.error("--epochs must be >= 1")

    path, x, y = load_data(args.data_dir)
    if len(x) != TRAIN_SIZE + TEST_SIZE:
        log("ERROR: expected %d rows in %s, got %d" % (TRAIN_SIZE + TEST_SIZE, path, len(x)))
        sys.exit(2)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(x))
    x, y = x[perm], y[perm]
    x_tr, y_tr, x_te, y_te = x[:TRAIN_SIZE], y[:TRAIN_SIZE], x[TRAIN_SIZE:], y[TRAIN_SIZE:]
    os.makedirs(args.model_dir, exist_ok=True)

    params = [rng.normal(0.0, np.sqrt(2.0 / 64), (64, HIDDEN)), np.zeros(HIDDEN),
              rng.normal(0.0, np.sqrt(2.0 / HIDDEN), (HIDDEN, CLASSES)), np.zeros(CLASSES)]
    velocity = [np.zeros_like(p) for p in params]
    n_params = sum(p.size for p in params)
    print("Data: %s (%d train / %d test samples, %d features, %d classes)"
          % (path, len(x_tr), len(x_te), x.shape[1], CLASSES), flush=True)
    print("Training %d parameters in %d parameter tensors." % (n_params, len(params)), flush=True)

    momentum, bs = 0.9, args.batch_size
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(TRAIN_SIZE)
        loss_sum, errs = 0.0, 0
        for i in range(0, TRAIN_SIZE, bs):
            idx = order[i:i + bs]
            xb, yb = x_tr[idx], y_tr[idx]
            h, p = forward(params, xb)
            loss_sum -= np.log(p[np.arange(len(yb)), yb] + 1e-12).sum()
            errs += int((p.argmax(axis=1) != yb).sum())
            dz = p.copy()
            dz[np.arange(len(yb)), yb] -= 1.0
            dz /= len(yb)
            dh = (dz @ params[2].T) * (h > 0)
            grads = [xb.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)]
            for v, prm, g in zip(velocity, params, grads):
                v *= momentum
                v -= args.lr * g
                prm += v
        elapsed = time.perf_counter() - t0
        log("Finished Epoch[%d of %d]: [Training] loss = %.6f * %d, metric = %.2f%% * %d "
            "%.3fs (%.1f samples/s);" % (epoch, args.epochs, loss_sum / TRAIN_SIZE, TRAIN_SIZE,
                                         100.0 * errs / TRAIN_SIZE, TRAIN_SIZE, elapsed,
                                         TRAIN_SIZE / max(elapsed, 1e-9)))
        save_model(args.model_dir, epoch, params)
        if args.sleep_per_epoch > 0:
            time.sleep(args.sleep_per_epoch)

    _, p = forward(params, x_te)
    test_err = 100.0 * float((p.argmax(axis=1) != y_te).mean())
    log("Final Results: Minibatch[1-1]: errs = %.2f%% * %d" % (test_err, len(y_te)))
    if test_err >= MAX_TEST_ERROR:
        log("FAILED: test error %.2f%% is not below %.1f%%" % (test_err, MAX_TEST_ERROR))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
