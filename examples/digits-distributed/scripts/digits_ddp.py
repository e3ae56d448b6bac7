#!/usr/bin/env python3
"""Distributed demo job: the 8x8 handwritten digits classifier, trained data-parallel with
PyTorch's DistributedDataParallel over gloo, one process on each node of the job.

Each rank trains on its own share of the training rows; DDP averages the gradients over the
ranks after every backward pass, so every rank holds the same model. Rank 0 prints progress to
stderr, saves a checkpoint per epoch into --model-dir, and every rank exits 0 only if the test
error is below 5%. Reads --data/digits.csv.gz (1797 rows: 64 pixel columns, then the label).
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

TRAIN_SIZE = 1437
EPOCHS, BATCH, MAX_TEST_ERROR = 30, 32, 5.0


def log(rank, msg):
    if rank == 0:
        print(msg, file=sys.stderr, flush=True)


def load(data_dir):
    with gzip.open(os.path.join(data_dir, "digits.csv.gz"), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    # One shuffle, the same on every rank (a fixed seed): the file is ordered by writer.
    data = data[np.random.default_rng(0).permutation(len(data))]
    x = torch.tensor(data[:, :64] / 16.0, dtype=torch.float32)
    y = torch.tensor(data[:, 64], dtype=torch.int64)
    return x, y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dist-url", required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world-size", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--model-dir", required=True)
    a = p.parse_args()
    dist.init_process_group("gloo", init_method=a.dist_url, rank=a.rank, world_size=a.world_size)
    log(a.rank, "rank 0 of %d on %s: %d processes joined through %s"
        % (a.world_size, os.environ.get("AZ_BATCHAI_NODE_IP"), dist.get_world_size(),
           a.dist_url))
    torch.manual_seed(0)  # the same initial model on every rank
    x, y = load(a.data)
    train_x, train_y = x[:TRAIN_SIZE][a.rank::a.world_size], y[:TRAIN_SIZE][a.rank::a.world_size]
    test_x, test_y = x[TRAIN_SIZE:], y[TRAIN_SIZE:]
    model = DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(a.rank)
    for epoch in range(1, EPOCHS + 1):
        order = torch.randperm(len(train_x), generator=generator)
        total = 0.0
        # The same number of steps on every rank: DDP's all-reduce pairs them up.
        steps = len(train_x) // BATCH
        for s in range(steps):
            idx = order[s * BATCH:(s + 1) * BATCH]
            opt.zero_grad()
            loss = loss_fn(model(train_x[idx]), train_y[idx])
            loss.backward()
            opt.step()
            total += loss.item()
        with torch.no_grad():
            error = (model(test_x).argmax(1) != test_y).float().mean().item() * 100
        log(a.rank, "Finished Epoch[%d of %d]: loss = %.4f, test error = %.2f%%"
            % (epoch, EPOCHS, total / steps, error))
        if a.rank == 0:
            path = os.path.join(a.model_dir, "digits_ddp_epoch_%02d.pt" % epoch)
            torch.save(model.module.state_dict(), path + ".tmp")
            os.replace(path + ".tmp", path)
    dist.destroy_process_group()
    if error >= MAX_TEST_ERROR:
        log(a.rank, "ERROR: test error %.2f%% is not below %.1f%%" % (error, MAX_TEST_ERROR))
        sys.exit(1)
    log(a.rank, "Final test error: %.2f%%" % error)


if __name__ == "__main__":
    main()
