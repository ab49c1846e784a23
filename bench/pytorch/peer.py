"""PyTorch as a same-run peer of the benchmark's targets (bench/pytorch.ts starts it; optional).

The benchmark's workloads written as a PyTorch user writes them: per-sample gradients as
torch.func's vmap(grad(loss)) over a single-sample loss, a training step as batched autograd
(mean loss, backward) and an SGD update. One process per thread count (torch.set_num_threads is
process-wide); it serves one JSON line per request on stdin and answers one line on stdout:

  {"op": "setup", "id": ..., "workload": "seed"|"mlp"|"conv", "kind": "psg"|"step", "batch": B,
   "dir": ..., "params": {name: [shape...]}}   -> {"ok": true, "loss": float}
     reads <dir>/x.f32, <dir>/y.f32 and <dir>/<name>.f32 (float32, the pool's layouts: tfjs NHWC and
     [KH, KW, C, CO] filters, moved to torch's NCHW and [CO, C, KH, KW] here)
  {"op": "call", "id": ...}  -> {"ms": float, "settleMs": float, "settled": bool|null}: one call,
     timed here (the pipe is not counted); the reply waits until PyTorch's other threads are idle
     (settle.py: how long that took, and whether they were before its limit)
  {"op": "close"}

The inputs are torch tensors made once at setup (as a PyTorch user holds them); each call is the
whole op, including the SGD update for a step. Nothing here is judged: the Node side does that.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import grad, vmap

from settle import settle


def read(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(shape).copy())


def seed_forward(p, x):  # x [..., 3, 2]; tensordot over the sample's two axes, plus b
    return torch.tensordot(x, p["W"], dims=([x.dim() - 2, x.dim() - 1], [0, 1])) + p["b"]


def mlp_forward(p, x):
    return F.relu(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def conv_forward(p, x):  # x [N, 1, 28, 28]
    h = F.max_pool2d(F.relu(F.conv2d(x, p["K"], p["bK"])), 2, 2)
    return h.flatten(1) @ p["W"] + p["b"]


def ce(logits, y):
    return -(y * F.log_softmax(logits, -1)).sum(-1)


MODELS = {
    # name: (forward on a batch, per-sample loss from a batch-of-one forward, input shape per sample, loss of a batch)
    "seed": dict(shape=(3, 2), one=lambda p, x, y: ((seed_forward(p, x) - y) ** 2).mean(),
                 batch=lambda p, x, y: ((seed_forward(p, x) - y) ** 2).mean()),
    "mlp": dict(shape=(784,), one=lambda p, x, y: ce(mlp_forward(p, x), y),
                batch=lambda p, x, y: ce(mlp_forward(p, x), y).mean()),
    "conv": dict(shape=(1, 28, 28), one=lambda p, x, y: ce(conv_forward(p, x.unsqueeze(0)), y.unsqueeze(0)).sum(),
                 batch=lambda p, x, y: ce(conv_forward(p, x), y).mean()),
}


def load(req):
    d, B, w = req["dir"], req["batch"], req["workload"]
    p = {k: read(f"{d}/{k}.f32", s) for k, s in req["params"].items()}
    if w == "conv":
        p["K"] = p["K"].permute(3, 2, 0, 1).contiguous()  # [KH, KW, C, CO] -> [CO, C, KH, KW]
        x = read(f"{d}/x.f32", (B, 28, 28, 1)).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    else:
        x = read(f"{d}/x.f32", (B, *MODELS[w]["shape"]))
    y = read(f"{d}/y.f32", (B, -1))
    return p, x, y


def setup(req, lr):
    m = MODELS[req["workload"]]
    p, x, y = load(req)
    if req["kind"] == "psg":
        f = vmap(grad(m["one"]), in_dims=(None, 0, 0))

        def call():
            f(p, x, y)

        with torch.no_grad():
            loss = float(m["batch"](p, x, y))
        return call, loss
    for t in p.values():
        t.requires_grad_(True)

    def step():
        loss = m["batch"](p, x, y)
        loss.backward()
        with torch.no_grad():
            for t in p.values():
                t -= lr * t.grad
                t.grad = None

    with torch.no_grad():
        loss = float(m["batch"](p, x, y))
    return step, loss


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1])
    lr = float(sys.argv[sys.argv.index("--lr") + 1])
    torch.set_num_threads(threads)
    calls = {}
    out = sys.stdout
    out.write(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "close":
                break
            if req["op"] == "setup":
                calls[req["id"]], loss = setup(req, lr)
                res = {"ok": True, "loss": loss}
            else:
                t0 = time.perf_counter()
                calls[req["id"]]()
                ms = (time.perf_counter() - t0) * 1000
                settle_ms, settled = settle()
                res = {"ms": ms, "settleMs": settle_ms, "settled": settled}
        except Exception as e:  # reported to the Node side, which names the request
            res = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(res) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
