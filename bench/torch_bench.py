#!/usr/bin/python3
"""The PyTorch peer of `rnn bench`: the same cases, the same shapes, one JSON
line per case with the same keys.

  torch_bench.py train   --cell C --layers L --hidden H --seq-len T --batch B
                         [--vocab 65] [--embed E] [--steps N] [--threads N]
  torch_bench.py forward --cell C --layers L --hidden H --seq-len T --batch B
                         [--input I] [--iters N] [--threads N]
  torch_bench.py stream  --cell C --input I --hidden H [--streams S] [--steps N]

train: nn.Embedding -> nn.LSTM/GRU/RNN -> nn.Linear, cross-entropy, backward,
clip_grad_norm_(5), Adam: exactly the step `rnn bench train` times. forward:
the recurrent module alone under torch.no_grad(). stream: one step of
nn.LSTMCell/GRUCell/RNNCell (torch.no_grad()), microseconds per step.

Threads: --threads sets torch.set_num_threads. Debian's torch runs its GEMMs
in OpenBLAS, whose own thread count comes from OPENBLAS_NUM_THREADS at import
time; set it in the environment (bench/run.py does, per case).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn

CELLS = {"lstm": (nn.LSTM, nn.LSTMCell, {}), "gru": (nn.GRU, nn.GRUCell, {}),
         "rnn": (nn.RNN, nn.RNNCell, {"nonlinearity": "tanh"}),
         "rnn_tanh": (nn.RNN, nn.RNNCell, {"nonlinearity": "tanh"}),
         "rnn_relu": (nn.RNN, nn.RNNCell, {"nonlinearity": "relu"})}


def peak_rss_mb():
    """VmHWM: the peak of this process image (ru_maxrss would carry the
    peak of the process that started us over the exec on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gates(cell):
    return {"lstm": 4, "gru": 3}.get(cell, 1)


def stack_macs(cell, I, H, L):
    return sum(gates(cell) * H * ((I if l == 0 else H) + H) for l in range(L))


def blas_lib():
    """The BLAS library this process has mapped (Debian's torch calls
    libblas.so.3, whichever the alternatives point to: OpenBLAS, or the
    reference BLAS, tens of times slower, when OpenBLAS is not installed)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ",".join(sorted(os.path.realpath(x) for x in libs)) or "none"


def common(a):
    return {"threads": a.threads, "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0),
            "torch": torch.__version__, "blas": blas_lib()}


def bench_train(a):
    mod, _, kw = CELLS[a.cell]
    E = a.embed or a.hidden
    torch.manual_seed(1)
    embed = nn.Embedding(a.vocab, E)
    rnn = mod(E, a.hidden, num_layers=a.layers, **kw)
    head = nn.Linear(a.hidden, a.vocab)
    params = list(embed.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    g = torch.Generator().manual_seed(12345)
    n = (a.steps + 4) * a.seq_len * a.batch + a.batch + 1
    ids = torch.randint(0, a.vocab, (n,), generator=g)
    S = (n - 1) // a.batch
    streams = ids[: a.batch * S + 1]
    state = None
    times = []
    for i in range(3 + a.steps):
        t0 = time.perf_counter()
        base = i * a.seq_len
        idx = torch.arange(a.batch) * S + base
        x = torch.stack([streams[idx + t] for t in range(a.seq_len)])      # [T, B]
        y = torch.stack([streams[idx + t + 1] for t in range(a.seq_len)])
        opt.zero_grad(set_to_none=True)
        out, state = rnn(embed(x), state)
        loss = nn.functional.cross_entropy(head(out).reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    macs = stack_macs(a.cell, E, a.hidden, a.layers) + a.hidden * a.vocab
    return {"case": "train", "cell": a.cell, "layers": a.layers, "hidden": a.hidden,
            "seq_len": a.seq_len, "batch": a.batch, "vocab": a.vocab, "embed": E,
            "steps": a.steps, "step_ms": med * 1e3, "tokens_per_s": a.seq_len * a.batch / med,
            "gflops": 3 * 2 * macs * a.seq_len * a.batch / med / 1e9, "peak_rss_mb": peak_rss_mb(),
            **common(a)}


def bench_forward(a):
    mod, _, kw = CELLS[a.cell]
    I = a.input or a.hidden
    torch.manual_seed(1)
    rnn = mod(I, a.hidden, num_layers=a.layers, **kw).eval()
    x = torch.sin(torch.arange(a.seq_len * a.batch * I, dtype=torch.float32) * 0.37)
    x = x.reshape(a.seq_len, a.batch, I)
    times = []
    with torch.no_grad():
        for i in range(3 + a.iters):
            t0 = time.perf_counter()
            rnn(x)
            if i >= 3:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"case": "forward", "cell": a.cell, "layers": a.layers, "hidden": a.hidden, "input": I,
            "seq_len": a.seq_len, "batch": a.batch, "iters": a.iters, "call_ms": med * 1e3,
            "tokens_per_s": a.seq_len * a.batch / med,
            "gflops": 2 * stack_macs(a.cell, I, a.hidden, a.layers) * a.seq_len * a.batch / med / 1e9,
            "peak_rss_mb": peak_rss_mb(), **common(a)}


def bench_stream(a):
    _, cellmod, kw = CELLS[a.cell]
    I = a.input or a.hidden
    torch.manual_seed(1)
    cells = [cellmod(I if l == 0 else a.hidden, a.hidden, **kw).eval() for l in range(a.layers)]
    x = torch.randn(a.streams, I)
    lstm = a.cell == "lstm"
    state = [(torch.zeros(a.streams, a.hidden), torch.zeros(a.streams, a.hidden)) if lstm
             else torch.zeros(a.streams, a.hidden) for _ in cells]
    # time batches of steps: a single step is too short for the clock
    reps = max(1, 200 // max(1, a.layers))
    times = []
    with torch.no_grad():
        for i in range(3 + a.steps):
            t0 = time.perf_counter()
            for _ in range(reps):
                inp = x
                for l, c in enumerate(cells):
                    state[l] = c(inp, state[l])
                    inp = state[l][0] if lstm else state[l]
            if i >= 3:
                times.append((time.perf_counter() - t0) / reps)
    med = statistics.median(times)
    return {"case": "stream", "cell": a.cell, "layers": a.layers, "input": I, "hidden": a.hidden,
            "streams": a.streams, "steps": a.steps, "us_per_step": med * 1e6,
            "peak_rss_mb": peak_rss_mb(), **common(a)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", choices=["train", "forward", "stream"])
    p.add_argument("--cell", default="lstm", choices=sorted(CELLS))
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--embed", type=int, default=0)
    p.add_argument("--input", type=int, default=0)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    r = {"train": bench_train, "forward": bench_forward, "stream": bench_stream}[a.case](a)
    print(json.dumps(r))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
