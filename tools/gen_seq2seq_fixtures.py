#!/usr/bin/python3
"""gen_seq2seq_fixtures.py OUTDIR -- PyTorch reference fixtures for the encoder-decoder.

Run with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 tools/gen_seq2seq_fixtures.py tests/fixtures      (or: make fixtures)

The module Seq2Seq below is the reference for src/model/seq2seq.c (Luong global
attention without input feeding): same parameter names and shapes, so a checkpoint
written by `rnn seq2seq train` loads into it with load_state_dict (see
load_checkpoint()). For each case it writes OUTDIR/seq2seq_<case>.safetensors with,
all in float64 (computed by torch in float64 from float32-representable values):

    <param>                 every parameter under its state_dict name
    src [S,B] (I64)         source ids, time-major, padded with 0
    src_len [B] (I64)       source lengths (unsorted, one equal to S)
    tgt_in [T,B] (I64)      decoder inputs: 0 (</s>), y_1..y_n, padding 0
    tgt_len [B] (I64)       n + 1
    tgt_out [T,B] (I64)     targets: y_1..y_n, 0 (</s>), -1 past the end
    logits [T,B,Vt]         the model's outputs (rows past tgt_len are not compared)
    loss []                 mean cross-entropy over the targets != -1
    grad.<param>            d loss / d param

Metadata: seq2seq.config (the JSON the C code stores in its checkpoints), case,
generator, torch.

Before writing, every case is checked against running each pair alone (no padding,
no packing): the logits of its valid steps and, summed over the pairs with the
batch's normalisation, every gradient. After writing, the file is read back with
sttools and compared.
"""

import json
import os
import sys

import numpy as np

try:
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit("gen_seq2seq_fixtures.py: cannot import torch (%s); run it with /usr/bin/python3 "
             "(Debian's python3-torch)" % e)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402

GENERATOR = "tools/gen_seq2seq_fixtures.py"
VS, VT, E, H = 7, 6, 4, 6
SRC_LEN = [5, 2, 4]   # S = 5; unsorted
TGT_N = [3, 1, 2]     # target tokens; tgt_len = n + 1, T = 4

# name: (cell, layers, bidirectional, attention)
CASES = {
    "none_gru": ("gru", 1, False, "none"),
    "dot_lstm_l2": ("lstm", 2, False, "dot"),
    "general_lstm_bi": ("lstm", 1, True, "general"),
    "additive_gru_bi_l2": ("gru", 2, True, "additive"),
    "additive_rnn_tanh": ("rnn_tanh", 1, False, "additive"),
}


def rnn_module(cell, inp, hidden, layers, bidirectional):
    kw = dict(input_size=inp, hidden_size=hidden, num_layers=layers, bidirectional=bidirectional)
    if cell == "lstm":
        return nn.LSTM(**kw)
    if cell == "gru":
        return nn.GRU(**kw)
    return nn.RNN(nonlinearity="relu" if cell == "rnn_relu" else "tanh", **kw)


class Part(nn.Module):
    """enc / dec: an embedding and a recurrent stack (names enc.embed.weight, enc.rnn.*)."""

    def __init__(self, vocab, embed, cell, hidden, layers, bidirectional):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = rnn_module(cell, embed, hidden, layers, bidirectional)


class Attn(nn.Module):
    def __init__(self, kind, hidden):
        super().__init__()
        if kind in ("general", "additive"):
            self.key = nn.Linear(hidden, hidden, bias=False)
        if kind == "additive":
            self.query = nn.Linear(hidden, hidden)
            self.v = nn.Parameter(torch.empty(hidden).uniform_(-hidden ** -0.5, hidden ** -0.5))
        self.combine = nn.Linear(2 * hidden, hidden, bias=False)


class Seq2Seq(nn.Module):
    """The encoder-decoder of src/model/seq2seq.h, parameter for parameter."""

    def __init__(self, cell, src_vocab, tgt_vocab, embed, hidden, layers, bidirectional,
                 attention, dropout=0.0, max_len=256):
        super().__init__()
        self.cell, self.attention, self.layers = cell, attention, layers
        self.D = 2 if bidirectional else 1
        self.config = {"cell": cell, "src_vocab": src_vocab, "tgt_vocab": tgt_vocab,
                       "embed": embed, "hidden": hidden, "layers": layers,
                       "bidirectional": bidirectional, "dropout": dropout,
                       "attention": attention, "max_len": max_len}
        self.enc = Part(src_vocab, embed, cell, hidden // self.D, layers, bidirectional)
        self.dec = Part(tgt_vocab, embed, cell, hidden, layers, False)
        if attention != "none":
            self.attn = Attn(attention, hidden)
        self.head = nn.Linear(hidden, tgt_vocab)

    def bridge(self, s):
        """[D*L, B, He] -> [L, B, D*He]: layer l gets [forward; reverse] of encoder layer l."""
        L, D = self.layers, self.D
        return s.view(L, D, s.shape[1], s.shape[2]).permute(0, 2, 1, 3).reshape(
            L, s.shape[1], D * s.shape[2])

    def forward(self, src, src_len, tgt_in, tgt_len):
        S, T = src.shape[0], tgt_in.shape[0]
        lstm = self.cell == "lstm"
        packed = pack_padded_sequence(self.enc.embed(src), src_len, enforce_sorted=False)
        e, hs = self.enc.rnn(packed)
        e, _ = pad_packed_sequence(e, total_length=S)                  # [S, B, H]
        h0 = (self.bridge(hs[0]), self.bridge(hs[1])) if lstm else self.bridge(hs)
        packed = pack_padded_sequence(self.dec.embed(tgt_in), tgt_len, enforce_sorted=False)
        hd, _ = self.dec.rnn(packed, h0)
        hd, _ = pad_packed_sequence(hd, total_length=T)                 # [T, B, H]
        if self.attention == "none":
            return self.head(hd), None
        a = self.attn
        k = e if self.attention == "dot" else a.key(e)                  # [S, B, H]
        if self.attention == "additive":
            q = a.query(hd)                                             # [T, B, H]
            u = torch.tanh(q[:, :, None, :] + k.transpose(0, 1)[None, :, :, :])  # [T, B, S, H]
            scores = u @ a.v                                            # [T, B, S]
        else:
            scores = torch.einsum("tbh,sbh->tbs", hd, k)
        pad = torch.arange(S)[None, :] >= src_len[:, None]              # [B, S]
        scores = scores.masked_fill(pad[None, :, :], float("-inf"))
        alpha = torch.softmax(scores, dim=2)
        ctx = torch.einsum("tbs,sbh->tbh", alpha, e)
        att = torch.tanh(a.combine(torch.cat([ctx, hd], dim=2)))
        return self.head(att), alpha


def load_checkpoint(path):
    """A Seq2Seq module with the weights of a checkpoint from `rnn seq2seq train`."""
    tensors, meta = sttools.load_file(path)
    c = json.loads(meta["seq2seq.config"])
    m = Seq2Seq(c["cell"], c["src_vocab"], c["tgt_vocab"], c["embed"], c["hidden"], c["layers"],
                c["bidirectional"], c["attention"], c["dropout"], c["max_len"])
    names = set(dict(m.named_parameters()))
    m.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items() if k in names})
    return m


def batch(gen):
    B = len(SRC_LEN)
    S, T = max(SRC_LEN), max(TGT_N) + 1
    src = torch.zeros(S, B, dtype=torch.int64)
    tgt_in = torch.zeros(T, B, dtype=torch.int64)
    tgt_out = torch.full((T, B), -1, dtype=torch.int64)
    for b in range(B):
        src[:SRC_LEN[b], b] = torch.randint(0, VS, (SRC_LEN[b],), generator=gen)
        y = torch.randint(1, VT, (TGT_N[b],), generator=gen)  # 0 is </s>
        tgt_in[1:TGT_N[b] + 1, b] = y
        tgt_out[:TGT_N[b], b] = y
        tgt_out[TGT_N[b], b] = 0
    return (src, torch.tensor(SRC_LEN, dtype=torch.int64), tgt_in,
            torch.tensor([n + 1 for n in TGT_N], dtype=torch.int64), tgt_out)


def loss_and_grads(model, src, src_len, tgt_in, tgt_len, tgt_out, norm=None):
    """Cross-entropy over the targets != -1, summed and divided by `norm` (default: their
    count, i.e. the mean), and every parameter's gradient."""
    model.zero_grad(set_to_none=True)
    logits, _ = model(src, src_len, tgt_in, tgt_len)
    flat = logits.reshape(-1, logits.shape[-1])
    loss = nn.functional.cross_entropy(flat, tgt_out.reshape(-1), ignore_index=-1,
                                       reduction="sum")
    loss = loss / (norm if norm is not None else int((tgt_out >= 0).sum()))
    loss.backward()
    grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
             for n, p in model.named_parameters()}
    return logits.detach(), loss.detach(), grads


def make_case(name, spec, seed):
    cell, layers, bi, attention = spec
    torch.manual_seed(seed)
    model = Seq2Seq(cell, VS, VT, E, H, layers, bi, attention)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # float32-representable values, scaled up to make the checks bite
        for _, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32) * 0.5)
    model = model.double()
    src, src_len, tgt_in, tgt_len, tgt_out = batch(gen)
    logits, loss, grads = loss_and_grads(model, src, src_len, tgt_in, tgt_len, tgt_out)

    # independent check: every pair alone, no padding anywhere
    count = int((tgt_out >= 0).sum())
    summed = {n: torch.zeros_like(g) for n, g in grads.items()}
    for b in range(len(SRC_LEN)):
        s, t = SRC_LEN[b], TGT_N[b] + 1
        lb, _, gb = loss_and_grads(model, src[:s, b:b + 1], src_len[b:b + 1], tgt_in[:t, b:b + 1],
                                   tgt_len[b:b + 1], tgt_out[:t, b:b + 1], norm=count)
        if not torch.allclose(lb[:, 0], logits[:t, b], rtol=1e-10, atol=1e-12):
            sys.exit("%s: pair %d alone gives other logits" % (name, b))
        for n in summed:
            summed[n] += gb[n]
    for n, g in grads.items():
        if not torch.allclose(summed[n], g, rtol=1e-9, atol=1e-12):
            sys.exit("%s: gradient of %s differs from the per-pair sum" % (name, n))

    out = {n: p.detach().numpy() for n, p in model.named_parameters()}
    out.update({"src": src.numpy(), "src_len": src_len.numpy(), "tgt_in": tgt_in.numpy(),
                "tgt_len": tgt_len.numpy(), "tgt_out": tgt_out.numpy(),
                "logits": logits.numpy(), "loss": np.array(float(loss))})
    out.update({"grad." + n: g.numpy() for n, g in grads.items()})
    meta = {"seq2seq.config": json.dumps(model.config), "case": name, "generator": GENERATOR,
            "torch": torch.__version__}
    return out, meta


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    for i, (name, spec) in enumerate(CASES.items()):
        tensors, meta = make_case(name, spec, 1000 + 17 * i)
        path = os.path.join(outdir, "seq2seq_%s.safetensors" % name)
        sttools.save_file(tensors, path, meta)
        back, bmeta = sttools.load_file(path)
        if bmeta != meta or set(back) != set(tensors) or not all(
                np.array_equal(back[k], np.asarray(v)) for k, v in tensors.items()):
            sys.exit("%s: read-back differs" % path)
        print("wrote %s (%d tensors, loss %.6f)" % (path, len(tensors), float(tensors["loss"])))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
