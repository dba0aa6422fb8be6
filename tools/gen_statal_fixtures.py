#!/usr/bin/python3
"""gen_statal_fixtures.py OUTDIR -- PyTorch reference fixtures for the Statal cell.

Run with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 tools/gen_statal_fixtures.py tests/fixtures     (or: make fixtures)

StatalLayer below is the reference implementation of the Statal cell of seed 003
(docs/statal.md): a PyTorch nn.Module with parameters weight_x [H, I],
weight_s [H, S] and bias [H], time-major input [T, B, I], optional initial state
s0 [B, S] and lengths [B], output [T, B, H + S] = [a_t, s_t] and final state
[B, S].  The straight-through estimator of copy and binary is written the
usual way, h = hard + (soft - soft.detach()), so autograd computes exactly the
surrogate gradient docs/statal.md defines.

One file per mode, OUTDIR/statal_{copy,binary,prob,multi}.safetensors, F64
tensors computed in float64 from float32-representable inputs and weights
(T=6, B=3, I=4, H=5, lengths [4, 6, 2]):
    weight_x, weight_s, bias     parameters
    x [T,B,I], s0 [B,S], lengths [B] (I64)
    y [T,B,H+S], sn [B,S]        forward (y zero past each length)
    dy [T,B,H+S], dsn [B,S]      upstream gradients (dy nonzero on padding too)
    grad.x, grad.s0, grad.weight_x, grad.weight_s, grad.bias
                                 gradients of sum(y*dy) + sum(sn*dsn), with the
                                 surrogate (what training uses)
    exact.x, ..., exact.bias     copy and binary only: the same without the
                                 surrogate (the derivative almost everywhere)
Metadata: mode, T, B, I, H, K, decays, generator, torch.

Before writing, each case is checked two ways (the script stops if either
disagrees): every sequence run alone with its own length gives the same
outputs, final states and gradients; and for the differentiable paths
(prob, multi, and copy/binary without the surrogate) torch.autograd.gradcheck
confirms autograd against finite differences.
"""

import argparse
import os
import sys

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("gen_statal_fixtures.py: cannot import torch (%s); run it with /usr/bin/python3 "
             "(Debian's python3-torch)" % e)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402

GENERATOR = "tools/gen_statal_fixtures.py"
T, B, I, H = 6, 3, 4, 5
LENGTHS = [4, 6, 2]
MODES = ["copy", "binary", "prob", "multi"]
DECAYS = [1.0, 0.99, 0.9, 0.5]   # multi: K = 4 states per neuron
K = len(DECAYS)


def state_width(mode, hidden):
    return K * hidden if mode == "multi" else hidden


class StatalLayer(nn.Module):
    """The Statal cell, one layer, time-major, packed-sequence semantics for lengths."""

    def __init__(self, input_size, hidden_size, mode, surrogate=True):
        super().__init__()
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % MODES)
        self.mode, self.hidden, self.surrogate = mode, hidden_size, surrogate
        S = state_width(mode, hidden_size)
        bound = 1.0 / hidden_size ** 0.5
        self.weight_x = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-bound, bound))
        self.weight_s = nn.Parameter(torch.empty(hidden_size, S).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.register_buffer("decay", torch.tensor(DECAYS))

    def switch(self, z):
        """[z > 0]; with the surrogate its gradient is sigmoid'(z) (straight-through)."""
        hard = (z > 0).to(z.dtype)
        if not self.surrogate:
            return hard
        soft = torch.sigmoid(z)
        return hard + (soft - soft.detach())

    def step(self, z, s):
        Hn = self.hidden
        if self.mode == "copy":
            a = torch.relu(z)
            m = self.switch(z)
            return a, m * a + (1 - m) * s
        if self.mode == "binary":
            a = torch.relu(z)
            h = self.switch(z)
            return a, 1 - (1 - s) * (1 - h)
        a = torch.sigmoid(z)
        if self.mode == "prob":
            return a, 1 - (1 - s) * (1 - a)
        # multi: s is [B, K*H], state k of neuron j at k*H + j
        sk = s.view(s.shape[0], K, Hn)
        lam = self.decay.to(s.dtype).view(1, K, 1)
        a3 = a.unsqueeze(1)
        return a, ((1 - a3) * lam * sk + a3).reshape(s.shape[0], K * Hn)

    def forward(self, x, s0=None, lengths=None):
        Tn, Bn = x.shape[0], x.shape[1]
        S = self.weight_s.shape[1]
        s = torch.zeros(Bn, S, dtype=x.dtype) if s0 is None else s0
        lens = torch.full((Bn,), Tn, dtype=torch.int64) if lengths is None else \
            torch.as_tensor(lengths, dtype=torch.int64)
        ys = []
        for t in range(Tn):
            z = x[t] @ self.weight_x.t() + s @ self.weight_s.t() + self.bias
            a, s_new = self.step(z, s)
            active = (t < lens).to(x.dtype).unsqueeze(1)
            s = active * s_new + (1 - active) * s
            ys.append(active * torch.cat([a, s_new], dim=1))
        return torch.stack(ys), s


def f32(gen, *shape, scale=1.0, low=None):
    """float32-representable values as float64: normal, or uniform [low, 1) if low is set."""
    if low is None:
        v = torch.randn(*shape, generator=gen, dtype=torch.float32) * scale
    else:
        v = low + (1 - low) * torch.rand(*shape, generator=gen, dtype=torch.float32)
    return v.double()


def run(layer, x, s0, lengths, dy, dsn):
    """Outputs and gradients of sum(y*dy) + sum(sn*dsn), detached."""
    x = x.clone().requires_grad_(True)
    s0 = s0.clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    y, sn = layer(x, s0, lengths)
    ((y * dy).sum() + (sn * dsn).sum()).backward()
    g = {"x": x.grad, "s0": s0.grad}
    for name, p in layer.named_parameters():
        g[name] = p.grad if p.grad is not None else torch.zeros_like(p)
    return y.detach(), sn.detach(), {k: v.detach() for k, v in g.items()}


def check_close(what, a, b, tol=1e-10):
    if a.shape != b.shape or not torch.allclose(a, b, rtol=tol, atol=tol):
        sys.exit("gen_statal_fixtures.py: self-check failed: %s differs" % what)


def self_check(layer, x, s0, dy, dsn, y, sn, grads):
    """Each sequence alone, with its own length, must give the same results."""
    gsum = {k: torch.zeros_like(v) for k, v in grads.items() if k not in ("x", "s0")}
    for b in range(B):
        n = LENGTHS[b]
        yb, snb, gb = run(layer, x[:n, b:b + 1], s0[b:b + 1], None, dy[:n, b:b + 1], dsn[b:b + 1])
        check_close("y of sequence %d" % b, yb, y[:n, b:b + 1])
        check_close("padding of sequence %d" % b, y[n:, b], torch.zeros_like(y[n:, b]), 0)
        check_close("sn of sequence %d" % b, snb, sn[b:b + 1])
        check_close("grad x of sequence %d" % b, gb["x"], grads["x"][:n, b:b + 1])
        check_close("grad x padding %d" % b, grads["x"][n:, b], torch.zeros_like(grads["x"][n:, b]), 0)
        check_close("grad s0 of sequence %d" % b, gb["s0"], grads["s0"][b:b + 1])
        for k in gsum:
            gsum[k] += gb[k]
    for k in gsum:
        check_close("grad %s summed over sequences" % k, gsum[k], grads[k])


def finite_difference_check(layer, x, s0, dy, dsn):
    """autograd of the exact (surrogate-free) layer against finite differences."""
    def f(xx, ss, wx, ws, bb):
        with torch.no_grad():
            layer.weight_x.copy_(wx)
            layer.weight_s.copy_(ws)
            layer.bias.copy_(bb)
        # functional form: re-bind parameters so that gradcheck sees them
        saved = (layer.weight_x, layer.weight_s, layer.bias)
        del layer.weight_x, layer.weight_s, layer.bias
        layer.weight_x, layer.weight_s, layer.bias = wx, ws, bb
        try:
            y, sn = layer(xx, ss, LENGTHS)
        finally:
            del layer.weight_x, layer.weight_s, layer.bias
            layer.weight_x, layer.weight_s, layer.bias = saved
        return (y * dy).sum() + (sn * dsn).sum()
    args = [t.detach().clone().requires_grad_(True)
            for t in (x, s0, layer.weight_x, layer.weight_s, layer.bias)]
    if not torch.autograd.gradcheck(f, args, eps=1e-6, atol=1e-6, rtol=1e-5):
        sys.exit("gen_statal_fixtures.py: gradcheck failed for %s" % layer.mode)


def make_case(mode, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    layer = StatalLayer(I, H, mode).double()
    with torch.no_grad():  # float32-representable parameters
        for p in layer.parameters():
            p.copy_(p.float().double())
    S = state_width(mode, H)
    x = f32(gen, T, B, I)
    if mode == "binary":
        s0 = (torch.rand(B, S, generator=gen) < 0.5).double()
    elif mode == "copy":
        s0 = torch.relu(f32(gen, B, S))
    else:
        s0 = f32(gen, B, S, low=0.0)
    dy = f32(gen, T, B, H + S)
    dsn = f32(gen, B, S)
    y, sn, grads = run(layer, x, s0, LENGTHS, dy, dsn)
    self_check(layer, x, s0, dy, dsn, y, sn, grads)
    exact = None
    if mode in ("copy", "binary"):
        layer.surrogate = False
        y2, sn2, exact = run(layer, x, s0, LENGTHS, dy, dsn)
        check_close("forward without surrogate", y2, y, 0)
        self_check(layer, x, s0, dy, dsn, y2, sn2, exact)
    finite_difference_check(layer, x, s0, dy, dsn)
    layer.surrogate = True
    tensors = {
        "weight_x": layer.weight_x.detach(), "weight_s": layer.weight_s.detach(),
        "bias": layer.bias.detach(), "x": x, "s0": s0,
        "lengths": torch.tensor(LENGTHS, dtype=torch.int64), "y": y, "sn": sn,
        "dy": dy, "dsn": dsn,
    }
    for k, v in grads.items():
        tensors["grad." + k] = v
    if exact is not None:
        for k, v in exact.items():
            tensors["exact." + k] = v
    return {k: np.ascontiguousarray(v.numpy()) for k, v in tensors.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    for i, mode in enumerate(MODES):
        arrays = make_case(mode, 3000 + i)
        meta = {"mode": mode, "T": str(T), "B": str(B), "I": str(I), "H": str(H), "K": str(K),
                "decays": ",".join(repr(d) for d in DECAYS), "generator": GENERATOR,
                "torch": torch.__version__}
        path = os.path.join(args.outdir, "statal_%s.safetensors" % mode)
        sttools.save_file(arrays, path, metadata=meta)
        back, bmeta = sttools.load_file(path)
        if set(back) != set(arrays) or any(not np.array_equal(back[k], arrays[k]) for k in arrays) \
                or bmeta != meta:
            sys.exit("gen_statal_fixtures.py: %s does not read back" % path)
        print("wrote %s (%d tensors)" % (path, len(arrays)))


if __name__ == "__main__":
    main()
