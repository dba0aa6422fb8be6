#!/usr/bin/python3
"""gen_fixtures.py OUTDIR -- write the PyTorch reference fixtures for the C tests.

Run with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 tools/gen_fixtures.py tests/fixtures      (or: make fixtures)

Everything is computed by torch in float64 (module.double(), double inputs) from
fixed seeds, and the output is byte-for-byte reproducible.

1. Layer fixtures, one file per case (32 files):

       OUTDIR/{rnn_tanh,rnn_relu,lstm,gru}_L{1,2}_{uni,bi}_{eq,var}.safetensors

   F64 tensors (T=6 steps, B=3 batch, I=4 inputs, H=5 hidden; D directions, L layers):
       <param>            every parameter under its nn.RNN/LSTM/GRU state_dict name
       x [T,B,I]          input, time-major
       h0 [D*L,B,H]       initial state (c0 too for LSTM)
       lengths [B] (I64)  var cases only: [4, 6, 2] -- unsorted, one = T, one short
       y [T,B,D*H]        output (padded rows zero in var cases)
       hn, cn [D*L,B,H]   final states
       dy, dhn, dcn       random upstream gradients; dy is nonzero everywhere,
                          padded positions included, so gradient leaking through
                          padding is caught
       grad.input, grad.h0, grad.c0, grad.<param>
                          gradients of  sum(y*dy) + sum(hn*dhn) + sum(cn*dcn)
   Metadata: cell, nonlinearity, num_layers, bidirectional, variable_lengths,
   T, B, I, H, seed, generator, torch.

   All inputs and parameters are float32-representable (drawn in float32, then
   widened), so a float32 implementation sees exactly the values torch used.

2. Command-line cases for `rnn run` (inputs as the CLI reads them, expect_* as
   the CLI must produce them; see the README.txt written into each):
       OUTDIR/run_lstm_bi_var/   2-layer bidirectional LSTM, batch-first, prefix
                                 "rnn.", variable lengths, an unrelated tensor
       OUTDIR/run_rnn_relu/      1-layer relu RNN, time-major, float64 input

Before writing, every case is verified two independent ways (the script stops
with an error if either disagrees):
   - against a direct implementation of the cell equations of REFERENCE.md
     (explicit time loop, gate slicing, own handling of lengths and directions),
     differentiated by autograd;
   - var cases: against running each sequence alone with its own length
     (y, hn, cn, and every gradient summed over the sequences).
After writing, every file is read back with sttools.load_file and compared.
"""

import argparse
import io
import os
import sys
import zlib

import numpy as np

try:
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("gen_fixtures.py: cannot import torch (%s); run it with /usr/bin/python3 "
             "(Debian's python3-torch)" % e)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402

GENERATOR = "tools/gen_fixtures.py"
T, B, I, H = 6, 3, 4, 5          # I != H so that a transposed weight shows
VAR_LENGTHS = [4, 6, 2]          # unsorted; one equals T, one is short
CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]

# Tolerance of the self-checks: both sides are float64, so only summation order differs.
CHECK_RTOL, CHECK_ATOL = 1e-10, 1e-12


# ----------------------------------------------------------------------------- model

def make_module(cell, layers, bidirectional, input_size=I, hidden_size=H, batch_first=False):
    """A PyTorch module with default init (float32, from the current torch seed)."""
    kw = dict(input_size=input_size, hidden_size=hidden_size, num_layers=layers,
              bidirectional=bidirectional, batch_first=batch_first)
    if cell == "lstm":
        return nn.LSTM(**kw)
    if cell == "gru":
        return nn.GRU(**kw)
    return nn.RNN(nonlinearity="relu" if cell == "rnn_relu" else "tanh", **kw)


def randn32(gen, *shape, scale=1.0):
    """Normal values rounded to float32, returned as float64 (exactly representable)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).double()


def run_module(mod, x, h0, c0, lengths, batch_first=False):
    """Forward through an nn.RNN/LSTM/GRU; lengths None means all sequences are full.
    Returns (y, hn, cn) with y padded to the full T and cn None for non-LSTM."""
    hx = (h0, c0) if isinstance(mod, nn.LSTM) else h0
    if lengths is None:
        y, hs = mod(x, hx)
    else:
        total = x.shape[1] if batch_first else x.shape[0]
        packed = pack_padded_sequence(x, torch.as_tensor(lengths, dtype=torch.int64),
                                      batch_first=batch_first, enforce_sorted=False)
        yp, hs = mod(packed, hx)
        y, _ = pad_packed_sequence(yp, batch_first=batch_first, total_length=total)
    if isinstance(mod, nn.LSTM):
        return y, hs[0], hs[1]
    return y, hs, None


def loss_of(y, hn, cn, dy, dhn, dcn):
    """L = sum(y*dy) + sum(hn*dhn) + sum(cn*dcn): its gradients w.r.t. y, hn, cn are
    exactly dy, dhn, dcn, i.e. the upstream gradients fed to a backward pass."""
    loss = (y * dy).sum() + (hn * dhn).sum()
    if cn is not None:
        loss = loss + (cn * dcn).sum()
    return loss


def forward_backward(mod, x, h0, c0, lengths, dy, dhn, dcn, batch_first=False):
    """Outputs and gradients (w.r.t. input, h0, c0 and every parameter), all detached."""
    x = x.detach().clone().requires_grad_(True)
    h0 = h0.detach().clone().requires_grad_(True)
    c0 = c0.detach().clone().requires_grad_(True) if c0 is not None else None
    mod.zero_grad(set_to_none=True)
    y, hn, cn = run_module(mod, x, h0, c0, lengths, batch_first)
    loss_of(y, hn, cn, dy, dhn, dcn).backward()
    grads = {"input": x.grad, "h0": h0.grad}
    if c0 is not None:
        grads["c0"] = c0.grad
    for name, p in mod.named_parameters():
        # A parameter that does not influence the loss would have grad None.
        grads[name] = p.grad if p.grad is not None else torch.zeros_like(p)
    outs = {"y": y.detach(), "hn": hn.detach()}
    if cn is not None:
        outs["cn"] = cn.detach()
    return outs, {k: v.detach() for k, v in grads.items()}


# ------------------------------------------------------------ independent references

def manual_stack(cell, params, x, h0, c0, lengths, layers, bidirectional):
    """The cell equations of REFERENCE.md written out step by step (time-major x).

    Variable lengths are handled per sequence: the forward direction runs
    t = 0..len-1, the reverse direction t = len-1..0, outputs beyond len are zero
    and h_n is the state after the last step taken.  Written independently of
    torch.nn so that gate order, layouts and length semantics are cross-checked.
    """
    Tn, Bn = x.shape[0], x.shape[1]
    D = 2 if bidirectional else 1
    Hn = h0.shape[2]
    lens = [Tn] * Bn if lengths is None else [int(v) for v in lengths]
    act = torch.relu if cell == "rnn_relu" else torch.tanh
    sig = torch.sigmoid
    hn, cn = [], []
    inp = x
    for k in range(layers):
        dir_outs = []
        for d in range(D):
            sfx = "_l%d%s" % (k, "_reverse" if d else "")
            w_ih, w_hh = params["weight_ih" + sfx], params["weight_hh" + sfx]
            b_ih, b_hh = params["bias_ih" + sfx], params["bias_hh" + sfx]
            idx = k * D + d
            out_b, hn_b, cn_b = [], [], []
            for b in range(Bn):
                h = h0[idx, b]
                c = c0[idx, b] if c0 is not None else None
                steps = range(lens[b]) if d == 0 else range(lens[b] - 1, -1, -1)
                rows = [None] * Tn
                for t in steps:
                    gi = w_ih @ inp[t, b] + b_ih
                    gh = w_hh @ h + b_hh
                    if cell in ("rnn_tanh", "rnn_relu"):
                        h = act(gi + gh)
                    elif cell == "lstm":
                        s = gi + gh
                        i_, f_ = sig(s[0:Hn]), sig(s[Hn:2 * Hn])
                        g_, o_ = torch.tanh(s[2 * Hn:3 * Hn]), sig(s[3 * Hn:4 * Hn])
                        c = f_ * c + i_ * g_
                        h = o_ * torch.tanh(c)
                    else:  # gru: reset gate applied after the hidden product
                        r = sig(gi[0:Hn] + gh[0:Hn])
                        z = sig(gi[Hn:2 * Hn] + gh[Hn:2 * Hn])
                        n = torch.tanh(gi[2 * Hn:] + r * gh[2 * Hn:])
                        h = (1 - z) * n + z * h
                    rows[t] = h
                zero = torch.zeros(Hn, dtype=x.dtype)
                out_b.append(torch.stack([r_ if r_ is not None else zero for r_ in rows]))
                hn_b.append(h)
                cn_b.append(c)
            dir_outs.append(torch.stack(out_b, dim=1))          # [T, B, H]
            hn.append(torch.stack(hn_b))
            if c0 is not None:
                cn.append(torch.stack(cn_b))
        inp = torch.cat(dir_outs, dim=2)                         # [T, B, D*H]
    return inp, torch.stack(hn), (torch.stack(cn) if c0 is not None else None)


def manual_forward_backward(cell, mod, x, h0, c0, lengths, dy, dhn, dcn, layers, bidirectional):
    params = {n: p.detach().clone().requires_grad_(True) for n, p in mod.named_parameters()}
    x = x.detach().clone().requires_grad_(True)
    h0 = h0.detach().clone().requires_grad_(True)
    c0 = c0.detach().clone().requires_grad_(True) if c0 is not None else None
    y, hn, cn = manual_stack(cell, params, x, h0, c0, lengths, layers, bidirectional)
    # Only the parameters reached by the graph get a gradient (all of them here).
    leaves = [x, h0] + ([c0] if c0 is not None else []) + list(params.values())
    g = torch.autograd.grad(loss_of(y, hn, cn, dy, dhn, dcn), leaves, allow_unused=True)
    g = [gi if gi is not None else torch.zeros_like(leaf) for gi, leaf in zip(g, leaves)]
    names = ["input", "h0"] + (["c0"] if c0 is not None else []) + list(params)
    outs = {"y": y.detach(), "hn": hn.detach()}
    if cn is not None:
        outs["cn"] = cn.detach()
    return outs, dict(zip(names, g))


def per_sequence_forward_backward(mod, x, h0, c0, lengths, dy, dhn, dcn):
    """Run every sequence alone, truncated to its own length, through the same module.
    Returns results assembled like a batched run (parameter gradients summed)."""
    Tn, Bn = x.shape[0], x.shape[1]
    y = torch.zeros(Tn, Bn, dy.shape[2], dtype=x.dtype)
    hn = torch.zeros_like(h0)
    cn = torch.zeros_like(c0) if c0 is not None else None
    grads = {"input": torch.zeros_like(x), "h0": torch.zeros_like(h0)}
    if c0 is not None:
        grads["c0"] = torch.zeros_like(c0)
    for name, p in mod.named_parameters():
        grads[name] = torch.zeros_like(p)
    for b in range(Bn):
        n = int(lengths[b])
        sl = slice(b, b + 1)
        o, g = forward_backward(mod, x[:n, sl], h0[:, sl], c0[:, sl] if c0 is not None else None,
                                None, dy[:n, sl], dhn[:, sl],
                                dcn[:, sl] if c0 is not None else None)
        y[:n, sl] = o["y"]
        hn[:, sl] = o["hn"]
        grads["input"][:n, sl] = g["input"]
        grads["h0"][:, sl] = g["h0"]
        if c0 is not None:
            cn[:, sl] = o["cn"]
            grads["c0"][:, sl] = g["c0"]
        for name, _ in mod.named_parameters():
            grads[name] += g[name]
    outs = {"y": y, "hn": hn}
    if cn is not None:
        outs["cn"] = cn
    return outs, grads


def assert_close(what, got, want, rtol=CHECK_RTOL, atol=CHECK_ATOL):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError("%s: shape %s, expected %s" % (what, got.shape, want.shape))
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    if not np.all(err <= 0):
        i = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError("%s: worst %s got %.17g expected %.17g" %
                             (what, i, got[i], want[i]))


def compare_results(label, a, b):
    """a, b: (outs, grads) pairs; every tensor of b must be present in a and agree."""
    for part in (0, 1):
        if set(a[part]) != set(b[part]):
            raise AssertionError("%s: tensor sets differ: %s vs %s" %
                                 (label, sorted(a[part]), sorted(b[part])))
        for k in b[part]:
            assert_close("%s: %s" % (label, k), a[part][k], b[part][k])


# ------------------------------------------------------------------------ generation

def case_seed(name):
    # crc32, not hash(): Python's str hash is salted per process.
    return zlib.crc32(name.encode("utf-8"))


def layer_case(cell, layers, bidirectional, variable):
    """Build, compute and verify one layer fixture. Returns (name, tensors, metadata)."""
    name = "%s_L%d_%s_%s" % (cell, layers, "bi" if bidirectional else "uni",
                             "var" if variable else "eq")
    seed = case_seed(name)
    torch.manual_seed(seed)                  # parameters: PyTorch's default init
    mod = make_module(cell, layers, bidirectional).double()
    gen = torch.Generator().manual_seed(seed + 1)
    D = 2 if bidirectional else 1
    lstm = cell == "lstm"
    x = randn32(gen, T, B, I)
    h0 = randn32(gen, D * layers, B, H, scale=0.5)
    c0 = randn32(gen, D * layers, B, H, scale=0.5) if lstm else None
    dy = randn32(gen, T, B, D * H)           # nonzero everywhere, padding included
    dhn = randn32(gen, D * layers, B, H)
    dcn = randn32(gen, D * layers, B, H) if lstm else None
    lengths = VAR_LENGTHS if variable else None

    res = forward_backward(mod, x, h0, c0, lengths, dy, dhn, dcn)
    compare_results(name + " vs equations",
                    res, manual_forward_backward(cell, mod, x, h0, c0, lengths, dy, dhn, dcn,
                                                 layers, bidirectional))
    if variable:
        compare_results(name + " vs per-sequence",
                        res, per_sequence_forward_backward(mod, x, h0, c0, lengths, dy, dhn, dcn))
        for b, n in enumerate(lengths):
            assert torch.all(res[0]["y"][n:, b] == 0), name + ": padded output not zero"
            assert torch.all(res[1]["input"][n:, b] == 0), name + ": padded dX not zero"
    outs, grads = res
    for k, v in list(outs.items()) + list(grads.items()):
        if not torch.all(torch.isfinite(v)) or v.abs().max() > 1e3:
            raise AssertionError("%s: %s is not finite or blew up" % (name, k))

    f64 = lambda t: t.detach().numpy().astype(np.float64)  # noqa: E731
    tensors = {}
    for pname, p in mod.state_dict().items():
        tensors[pname] = f64(p)
    tensors["x"] = f64(x)
    tensors["h0"] = f64(h0)
    if lstm:
        tensors["c0"] = f64(c0)
    if variable:
        tensors["lengths"] = np.asarray(lengths, dtype=np.int64)
    for k in ("y", "hn", "cn"):
        if k in outs:
            tensors[k] = f64(outs[k])
    tensors["dy"] = f64(dy)
    tensors["dhn"] = f64(dhn)
    if lstm:
        tensors["dcn"] = f64(dcn)
    for k, v in grads.items():
        tensors["grad." + k] = f64(v)
    meta = {
        "cell": cell,
        "nonlinearity": {"rnn_tanh": "tanh", "rnn_relu": "relu"}.get(cell, ""),
        "num_layers": str(layers),
        "bidirectional": "1" if bidirectional else "0",
        "variable_lengths": "1" if variable else "0",
        "T": str(T), "B": str(B), "I": str(I), "H": str(H),
        "seed": str(seed),
        "generator": GENERATOR,
        "torch": torch.__version__,
    }
    return name, tensors, meta


def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def cli_lstm_bi_var():
    """run_lstm_bi_var: 2-layer bidirectional LSTM, batch_first, prefix "rnn.", lengths."""
    name = "run_lstm_bi_var"
    seed = case_seed(name)
    Tn, Bn, In, Hn, L, D = 6, 3, 4, 5, 2, 2
    lengths = [3, 6, 1]                      # unsorted, one full, one of length 1
    torch.manual_seed(seed)
    mod = make_module("lstm", L, True, In, Hn, batch_first=True)   # float32 weights
    head = torch.empty(2, 10).uniform_(-0.3, 0.3)                  # must be ignored
    gen = torch.Generator().manual_seed(seed + 1)
    f32 = lambda *s, scale=1.0: (torch.randn(*s, generator=gen) * scale).numpy()  # noqa: E731
    x = f32(Bn, Tn, In)
    h0 = f32(D * L, Bn, Hn, scale=0.5)
    c0 = f32(D * L, Bn, Hn, scale=0.5)
    dy = f32(Bn, Tn, D * Hn)
    dhn = f32(D * L, Bn, Hn)
    weights = {"head.weight": head.numpy()}  # first, so order does not help a reader
    for pname, p in mod.state_dict().items():
        weights["rnn." + pname] = p.numpy()

    # Expected results: float64 computation from exactly the float32 values above.
    mod = mod.double()
    d = lambda a: torch.from_numpy(a).double()  # noqa: E731
    dcn = torch.zeros(D * L, Bn, Hn, dtype=torch.float64)   # no --grad-cn: zeros
    outs, grads = forward_backward(mod, d(x), d(h0), d(c0), lengths, d(dy), d(dhn), dcn,
                                   batch_first=True)
    # Independent check through the time-major equation reference.
    tm = lambda a: a.transpose(0, 1)  # noqa: E731
    m_outs, m_grads = manual_forward_backward("lstm", mod, tm(d(x)), d(h0), d(c0), lengths,
                                              tm(d(dy)), d(dhn), dcn, L, True)
    m_outs["y"], m_grads["input"] = tm(m_outs["y"]), tm(m_grads["input"])
    compare_results(name + " vs equations", (outs, grads), (m_outs, m_grads))

    files = {
        "w.safetensors": ("st", weights, {"generator": GENERATOR, "torch": torch.__version__}),
        "x.npy": x, "h0.npy": h0, "c0.npy": c0,
        "len.npy": np.asarray(lengths, dtype=np.int64),
        "dy.npy": dy, "dhn.npy": dhn,
        "expect_y.npy": outs["y"].numpy(),
        "expect_hn.npy": outs["hn"].numpy(),
        "expect_cn.npy": outs["cn"].numpy(),
    }
    eg = {"input": grads["input"].numpy(), "h0": grads["h0"].numpy(), "c0": grads["c0"].numpy()}
    for pname, _ in mod.named_parameters():
        eg["rnn." + pname] = grads[pname].numpy()
    files["expect_grads.safetensors"] = ("st", eg, {"generator": GENERATOR,
                                                   "torch": torch.__version__})
    readme = """\
run_lstm_bi_var -- a test case for `rnn run` (written by %(gen)s; do not edit).

Model: nn.LSTM(input_size=%(I)d, hidden_size=%(H)d, num_layers=%(L)d, bidirectional=True,
batch_first=True) stored under the prefix "rnn." (w.safetensors, F32), next to an
unrelated tensor "head.weight" [2, 10] that the prefix must exclude.
Sizes: T=%(T)d, B=%(B)d, I=%(I)d, H=%(H)d, D=2, L=%(L)d; lengths %(lens)s (unsorted).

Inputs (float32):  x.npy [B,T,I] (batch-first), h0.npy and c0.npy [D*L,B,H],
                   len.npy int64 [B], dy.npy [B,T,D*H], dhn.npy [D*L,B,H];
                   no dcn, so the gradient of c_n is zero.
Expected (float64, computed by torch in float64 from the float32 inputs):
    expect_y.npy [B,T,D*H] (rows past a sequence's length are zero),
    expect_hn.npy, expect_cn.npy [D*L,B,H],
    expect_grads.safetensors (F64): input [B,T,I], h0, c0, and rnn.<param> for every
    parameter, named as in w.safetensors.

Command line (run from this directory; OUT is any writable directory):

    rnn run --weights w.safetensors --input x.npy --h0 h0.npy --c0 c0.npy \\
        --lengths len.npy --batch-first --prefix rnn. \\
        --output $OUT/y.npy --hn $OUT/hn.npy --cn $OUT/cn.npy \\
        --grad-output dy.npy --grad-hn dhn.npy --grads $OUT/grads.safetensors

Compare $OUT/y.npy with expect_y.npy, hn/cn with expect_hn/expect_cn, and every tensor of
$OUT/grads.safetensors (F32) with expect_grads.safetensors: |a-b| <= 1e-5 + 1e-4*|b|.
""" % dict(gen=GENERATOR, I=In, H=Hn, L=L, T=Tn, B=Bn, lens=lengths)
    files["README.txt"] = readme.encode()
    return name, files


def cli_rnn_relu():
    """run_rnn_relu: 1-layer unidirectional relu RNN, time-major, float64 x, no prefix."""
    name = "run_rnn_relu"
    seed = case_seed(name)
    Tn, Bn, In, Hn = 7, 2, 3, 6
    torch.manual_seed(seed)
    mod = make_module("rnn_relu", 1, False, In, Hn)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(Tn, Bn, In, generator=gen, dtype=torch.float64).numpy()  # a real float64
    h0 = (torch.randn(1, Bn, Hn, generator=gen) * 0.5).numpy()
    dy = torch.randn(Tn, Bn, Hn, generator=gen).numpy()
    weights = {pname: p.numpy() for pname, p in mod.state_dict().items()}

    mod = mod.double()
    d = lambda a: torch.from_numpy(a).double()  # noqa: E731
    dhn = torch.zeros(1, Bn, Hn, dtype=torch.float64)       # no --grad-hn: zeros
    outs, grads = forward_backward(mod, d(x), d(h0), None, None, d(dy), dhn, None)
    compare_results(name + " vs equations", (outs, grads),
                    manual_forward_backward("rnn_relu", mod, d(x), d(h0), None, None,
                                            d(dy), dhn, None, 1, False))
    # The case is only useful if relu actually clips something.
    assert (outs["y"] == 0).any() and (outs["y"] > 0).any(), name + ": relu never active/clipped"

    eg = {"input": grads["input"].numpy(), "h0": grads["h0"].numpy()}
    for pname, _ in mod.named_parameters():
        eg[pname] = grads[pname].numpy()
    files = {
        "w.safetensors": ("st", weights, {"generator": GENERATOR, "torch": torch.__version__}),
        "x.npy": x, "h0.npy": h0, "dy.npy": dy,
        "expect_y.npy": outs["y"].numpy(),
        "expect_hn.npy": outs["hn"].numpy(),
        "expect_grads.safetensors": ("st", eg, {"generator": GENERATOR,
                                                "torch": torch.__version__}),
    }
    readme = """\
run_rnn_relu -- a test case for `rnn run` (written by %(gen)s; do not edit).

Model: nn.RNN(input_size=%(I)d, hidden_size=%(H)d, num_layers=1, nonlinearity='relu'),
no prefix (w.safetensors, F32: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0).
Sizes: T=%(T)d, B=%(B)d, I=%(I)d, H=%(H)d; all sequences full length, time-major.

Inputs: x.npy float64 [T,B,I] (a float64 input on purpose), h0.npy float32 [1,B,H],
        dy.npy float32 [T,B,H]; no dhn, so the gradient of h_n is zero.
Expected (float64, computed by torch in float64):
    expect_y.npy [T,B,H], expect_hn.npy [1,B,H],
    expect_grads.safetensors (F64): input [T,B,I], h0, weight_ih_l0, weight_hh_l0,
    bias_ih_l0, bias_hh_l0.

Command line (run from this directory; OUT is any writable directory):

    rnn run --weights w.safetensors --input x.npy --h0 h0.npy --nonlinearity relu \\
        --output $OUT/y.npy --hn $OUT/hn.npy \\
        --grad-output dy.npy --grads $OUT/grads.safetensors

Compare as for run_lstm_bi_var: |a-b| <= 1e-5 + 1e-4*|b|. Without --nonlinearity relu
the results must differ (tanh is the default).
""" % dict(gen=GENERATOR, I=In, H=Hn, T=Tn, B=Bn)
    files["README.txt"] = readme.encode()
    return name, files


# --------------------------------------------------------------------------- writing

def check_written(path, tensors, metadata):
    """Read a written safetensors file back and require exact equality."""
    got, meta = sttools.load_file(path)
    if list(got) != list(tensors) or meta != (metadata or {}):
        raise AssertionError("%s: names or metadata differ after reading back" % path)
    for k, v in tensors.items():
        v = np.asarray(v)
        if got[k].dtype != v.dtype or got[k].shape != v.shape or not np.array_equal(got[k], v):
            raise AssertionError("%s: tensor %s differs after reading back" % (path, k))


def write_cli_case(outdir, name, files):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    for fname, content in files.items():
        path = os.path.join(d, fname)
        if isinstance(content, tuple):       # ("st", tensors, metadata)
            _, tensors, meta = content
            sttools.save_file(tensors, path, meta)
            check_written(path, tensors, meta)
        elif isinstance(content, bytes):
            sttools.write_atomic(path, content)
        else:
            sttools.write_atomic(path, npy_bytes(content))
            back = np.load(path, allow_pickle=False)
            assert back.dtype == content.dtype and np.array_equal(back, content), path
    return [os.path.join(name, f) for f in files]


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write the PyTorch reference fixtures (float64, fixed seeds) for the "
                    "C tests and the `rnn run` command-line cases.",
        epilog="Example: /usr/bin/python3 tools/gen_fixtures.py tests/fixtures")
    ap.add_argument("outdir", help="directory to write into (created if missing)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args(argv)

    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)   # fixed reduction order -> identical bytes on every run
    os.makedirs(args.outdir, exist_ok=True)

    written = []
    for cell in CELLS:
        for layers in (1, 2):
            for bidirectional in (False, True):
                for variable in (False, True):
                    name, tensors, meta = layer_case(cell, layers, bidirectional, variable)
                    path = os.path.join(args.outdir, name + ".safetensors")
                    sttools.save_file(tensors, path, meta)
                    check_written(path, tensors, meta)
                    written.append(name + ".safetensors")
                    if not args.quiet:
                        print("wrote %s (%d tensors, verified)" % (path, len(tensors)))
    for make in (cli_lstm_bi_var, cli_rnn_relu):
        name, files = make()
        written += write_cli_case(args.outdir, name, files)
        if not args.quiet:
            print("wrote %s/ (%d files, verified)" % (os.path.join(args.outdir, name), len(files)))
    total = sum(os.path.getsize(os.path.join(args.outdir, f)) for f in written)
    print("gen_fixtures: %d files, %d bytes in %s" % (len(written), total, args.outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
