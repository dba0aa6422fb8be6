#!/usr/bin/python3
"""gen_conv_fixtures.py OUTDIR -- PyTorch fixtures for the causal Conv1D layer
and for a whole forecasting-style model (Conv1D + GRU + last state + dense head).

Run with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 tools/gen_conv_fixtures.py tests/fixtures      (or: make fixtures)

Everything is computed by torch in float64 from fixed seeds; every input and
parameter is drawn in float32 and widened, so a float32 implementation sees
exactly the values torch used. The output is byte-for-byte reproducible.

1. OUTDIR/conv1d.safetensors -- the layer alone, one case per (C, F, K, dilation):
       <case>.x        [T, B, C]   input, time-major (the library's layout)
       <case>.weight   [F, C, K]   nn.Conv1d's weight, PyTorch's layout
       <case>.bias     [F]
       <case>.y        [T, B, F]   relu(conv1d(x, padding=(K-1)*d)[..., :T]): the causal part
       <case>.dy       [T, B, F]   a random upstream gradient
       <case>.grad.x, <case>.grad.weight, <case>.grad.bias
                                   gradients of sum(y * dy)
   Metadata "cases": JSON list of {"name", "T", "B", "C", "F", "K", "dilation"}.

2. OUTDIR/conv1d_model.safetensors -- the model of `rnn forecast` with --conv:
       x [T, B, I] -> nn.Conv1d(I, F, K, dilation=d, padding=(K-1)*d), first T outputs,
       ReLU -> nn.GRU(F, H, L, bidirectional) -> h_n of the top layer (forward, then
       reverse) -> nn.Linear(D*H, O) -> out [B, O]
   Per case:
       <case>.<param>       every parameter under the library's names (conv.weight,
                            conv.bias, rnn.weight_ih_l0, ..., head.weight, head.bias)
       <case>.x, <case>.out, <case>.dout (random), <case>.grad.x,
       <case>.grad.<param>  gradients of sum(out * dout)
   Metadata "cases": JSON list of {"name", "T", "B", "I", "F", "K", "dilation", "H",
   "L", "bidirectional", "O"}.

Before writing, the layer cases are checked against a direct sum
y[t,b,f] = relu(bias[f] + sum_{c,k} w[f,c,k] x[t-(K-1-k)d, b, c]) (x = 0 before the
start), and the files are read back with sttools.load_file and compared.
"""

import json
import os
import sys

import numpy as np

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    sys.stderr.write("gen_conv_fixtures: cannot import torch (%s); run with /usr/bin/python3\n" % e)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402

LAYER_CASES = [  # T, B, C, F, K, dilation
    (7, 2, 3, 4, 3, 1),
    (9, 3, 2, 5, 2, 3),
    (6, 2, 4, 3, 1, 1),
    (5, 1, 1, 2, 4, 2),  # the receptive field is longer than some prefixes
]
MODEL_CASES = [  # T, B, I, F, K, dilation, H, L, bidirectional, O
    (8, 3, 3, 4, 3, 2, 5, 1, False, 2),
    (7, 2, 2, 3, 2, 1, 4, 2, True, 3),
]


def f32(rng, shape, scale=1.0):
    """float32 draws widened to float64 (so float32 code sees torch's exact values)."""
    return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32).astype(np.float64))


def causal_conv(x, conv):
    """x [T, B, C] -> relu(conv(x))[:T] as [T, B, F] (conv has padding (K-1)*d)."""
    T = x.shape[0]
    y = conv(x.permute(1, 2, 0))[:, :, :T]
    return torch.relu(y).permute(2, 0, 1)


def direct_sum(x, w, b, d):
    T, B, C = x.shape
    F, _, K = w.shape
    y = np.zeros((T, B, F))
    for t in range(T):
        for f in range(F):
            acc = np.full(B, b[f])
            for k in range(K):
                src = t - (K - 1 - k) * d
                if src >= 0:
                    acc = acc + x[src] @ w[f, :, k]
            y[t, :, f] = np.maximum(acc, 0)
    return y


def layer_cases():
    tensors, meta = {}, []
    for i, (T, B, C, F, K, d) in enumerate(LAYER_CASES):
        rng = np.random.default_rng(100 + i)
        name = "c%d" % i
        conv = nn.Conv1d(C, F, K, dilation=d, padding=(K - 1) * d).double()
        with torch.no_grad():
            conv.weight.copy_(f32(rng, (F, C, K), 0.6))
            conv.bias.copy_(f32(rng, (F,), 0.3))
        x = f32(rng, (T, B, C)).requires_grad_(True)
        y = causal_conv(x, conv)
        ref = direct_sum(x.detach().numpy(), conv.weight.detach().numpy(),
                         conv.bias.detach().numpy(), d)
        err = np.abs(ref - y.detach().numpy()).max()
        if err > 1e-12:
            sys.exit("gen_conv_fixtures: case %s: torch and the direct sum differ by %g" % (name, err))
        frac = float((y > 0).double().mean())
        if not 0.2 < frac < 0.9:
            sys.exit("gen_conv_fixtures: case %s: ReLU active on %.2f of outputs; pick another seed"
                     % (name, frac))
        dy = f32(rng, (T, B, F))
        (y * dy).sum().backward()
        for k, v in (("x", x), ("weight", conv.weight), ("bias", conv.bias), ("y", y), ("dy", dy),
                     ("grad.x", x.grad), ("grad.weight", conv.weight.grad),
                     ("grad.bias", conv.bias.grad)):
            tensors["%s.%s" % (name, k)] = v.detach().numpy().astype(np.float64)
        meta.append({"name": name, "T": T, "B": B, "C": C, "F": F, "K": K, "dilation": d})
    return tensors, meta


class Model(nn.Module):
    """conv -> GRU -> top layer's h_n (forward | reverse) -> head; x [T, B, I] -> [B, O]."""

    def __init__(self, I, F, K, d, H, L, bi, O):
        super().__init__()
        self.conv = nn.Conv1d(I, F, K, dilation=d, padding=(K - 1) * d)
        self.rnn = nn.GRU(F, H, L, bidirectional=bi)
        self.head = nn.Linear(H * (2 if bi else 1), O)
        self.D = 2 if bi else 1

    def forward(self, x):
        _, hn = self.rnn(causal_conv(x, self.conv))
        last = torch.cat([hn[hn.shape[0] - self.D + i] for i in range(self.D)], dim=1)
        return self.head(last)


def model_cases():
    tensors, meta = {}, []
    for i, (T, B, I, F, K, d, H, L, bi, O) in enumerate(MODEL_CASES):
        rng = np.random.default_rng(200 + i)
        torch.manual_seed(200 + i)
        name = "m%d" % i
        model = Model(I, F, K, d, H, L, bi, O).double()
        with torch.no_grad():
            for p in model.parameters():  # float32-representable values
                p.copy_(p.float().double())
        x = f32(rng, (T, B, I)).requires_grad_(True)
        out = model(x)
        dout = f32(rng, (B, O))
        (out * dout).sum().backward()
        for pname, p in model.named_parameters():
            tensors["%s.%s" % (name, pname)] = p.detach().numpy().copy()
            tensors["%s.grad.%s" % (name, pname)] = p.grad.numpy().copy()
        for k, v in (("x", x), ("out", out), ("dout", dout), ("grad.x", x.grad)):
            tensors["%s.%s" % (name, k)] = v.detach().numpy().astype(np.float64)
        meta.append({"name": name, "T": T, "B": B, "I": I, "F": F, "K": K, "dilation": d, "H": H,
                     "L": L, "bidirectional": bi, "O": O})
    return tensors, meta


def write(path, tensors, meta):
    md = {"cases": json.dumps(meta), "generator": "tools/gen_conv_fixtures.py",
          "torch": torch.__version__}
    sttools.save_file(tensors, path, md)
    back, bmeta = sttools.load_file(path)
    if set(back) != set(tensors) or bmeta != md:
        sys.exit("gen_conv_fixtures: %s does not read back" % path)
    for k, v in tensors.items():
        if back[k].dtype != np.float64 or not np.array_equal(back[k], v):
            sys.exit("gen_conv_fixtures: %s: tensor %s does not read back" % (path, k))


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    t, m = layer_cases()
    write(os.path.join(outdir, "conv1d.safetensors"), t, m)
    t, m = model_cases()
    write(os.path.join(outdir, "conv1d_model.safetensors"), t, m)
    print("wrote %s/conv1d.safetensors (%d layer cases), conv1d_model.safetensors (%d model cases)"
          % (outdir, len(LAYER_CASES), len(MODEL_CASES)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
