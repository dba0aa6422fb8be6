#!/usr/bin/python3
"""torch_model.py -- the PyTorch reference of the character-level language model.

The C side (`rnn train`, `rnn sample`, `rnn eval`) writes and reads checkpoints in
the format below; this module builds the same model in PyTorch, loads and writes
those checkpoints, and evaluates them, so tests can prove that a checkpoint's
parameters load in PyTorch and give the same logits and loss.

Model (time-major, tokens [T, B] int64):

    embed = nn.Embedding(V, E)
    rnn   = nn.LSTM(E, H, num_layers=L, dropout=p)     (or nn.GRU, nn.RNN tanh/relu)
    head  = nn.Linear(H, V)
    logits = head(rnn(embed(tokens))[0])               [T, B, V]

Checkpoint: a safetensors file with F32 tensors `embed.weight` [V, E], `rnn.*`
(nn.LSTM/GRU/RNN state_dict names: rnn.weight_ih_l0, rnn.weight_hh_l0,
rnn.bias_ih_l0, rnn.bias_hh_l0, ..._l1, ...), `head.weight` [V, H], `head.bias` [V]
and optionally training state `optim.*` / `train.*` (ignored here), and the
string metadata

    "format": "pt", "rnn.version": "1", "rnn.task": "charlm",
    "rnn.config": '{"cell": "lstm", "vocab_size": 65, "embed_size": 64,
                    "hidden_size": 128, "num_layers": 2, "dropout": 0.0}',
    "rnn.vocab":  '[10, 32, 33, ...]'   (Unicode code points, sorted ascending;
                                         token id i = the i-th code point)

Library use (run with Debian's /usr/bin/python3):

    sys.path.insert(0, "tools"); import torch_model as tm
    model, vocab, cfg = tm.load_checkpoint("ckpt.safetensors")
    ids = tm.encode(text, vocab)
    nll_sum, n = tm.stream_nll(model, ids)            # float64 sum, count
    tm.save_checkpoint(model, vocab, cfg, "out.safetensors")

Command line:

    torch_model.py eval CKPT TEXT
        TEXT (UTF-8) as one stream (B = 1, zero initial state, state carried),
        each code point predicted from all previous ones; prints exactly one line
            nats/char N bits/char N perplexity N chars N
        (mean cross-entropy over the N-1 predictions, accumulated in float64;
        bits = nats / ln 2; perplexity = exp(nats); chars = the number of code
        points in TEXT, i.e. predictions + 1).
    torch_model.py logits CKPT TEXT OUT.npy
        the logits for inputs = every code point of TEXT (B = 1, zero initial
        state), float32 [N, V].

Exit status: 0 success, 2 bad input (unreadable/invalid checkpoint or text,
a character outside the vocabulary), with one line on stderr.
"""

import json
import math
import os
import sys

if __name__ == "__main__":
    # B = 1 matrix-vector products: more BLAS threads only add overhead.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # pragma: no cover
    sys.stderr.write("torch_model: cannot import torch/numpy (%s).\n"
                     "Run it with Debian's /usr/bin/python3 (python3-torch).\n" % e)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sttools  # noqa: E402

__all__ = ["CharRNN", "CELLS", "load_checkpoint", "save_checkpoint", "encode", "decode",
           "build_vocab", "read_text", "stream_logits", "stream_nll", "detach_state",
           "CheckpointError", "FORMAT_VERSION", "TASK"]

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
FORMAT_VERSION = "1"
TASK = "charlm"
CONFIG_KEYS = ("cell", "vocab_size", "embed_size", "hidden_size", "num_layers", "dropout")
TRAIN_PREFIXES = ("optim.", "train.")


class CheckpointError(ValueError):
    """A checkpoint that is not a valid charlm checkpoint."""


def _check_config(cfg):
    """Validate a config dict; returns a normalised copy (ints, float dropout)."""
    if not isinstance(cfg, dict):
        raise CheckpointError("rnn.config is not a JSON object")
    missing = [k for k in CONFIG_KEYS if k not in cfg]
    if missing:
        raise CheckpointError("rnn.config lacks %s" % ", ".join(missing))
    # keys a plain character model has at their default values; anything
    # else (pooling readouts, a convolution, a condition, a bidirectional
    # stack) is a model this reference module does not describe
    defaults = {"input_size": 0, "bidirectional": False, "output_size": cfg.get("vocab_size"),
                "readout": "steps", "conv_filters": 0, "conv_kernel": 0, "conv_dilation": 0,
                "cond_classes": 0, "cond_size": 0}
    for k, v in defaults.items():
        if k in cfg and cfg[k] != v:
            raise CheckpointError("rnn.config has %s = %r: not a plain character language model "
                                  "(this module describes embedding -> rnn -> per-step head)" % (k, cfg[k]))
    extra = sorted(set(cfg) - set(CONFIG_KEYS) - set(defaults))
    if extra:
        sys.stderr.write("torch_model: warning: rnn.config has unknown keys %s (ignored)\n"
                         % ", ".join(extra))
    out = dict(cfg)
    if cfg["cell"] not in CELLS:
        raise CheckpointError("rnn.config cell %r is not one of %s" % (cfg["cell"], ", ".join(CELLS)))
    for k in ("vocab_size", "embed_size", "hidden_size", "num_layers"):
        v = cfg[k]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise CheckpointError("rnn.config %s = %r is not a positive integer" % (k, v))
    d = cfg["dropout"]
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 <= d < 1.0:
        raise CheckpointError("rnn.config dropout = %r is not in [0, 1)" % (d,))
    out["dropout"] = float(d)
    return out


class CharRNN(nn.Module):
    """Embedding -> nn.LSTM/GRU/RNN stack -> Linear, time-major.

    cfg: {"cell", "vocab_size", "embed_size", "hidden_size", "num_layers", "dropout"}.
    Parameters get PyTorch's default initialisation.
    """

    def __init__(self, cfg):
        super().__init__()
        cfg = _check_config(cfg)
        self.cfg = cfg
        V, E, H, L, p = (cfg["vocab_size"], cfg["embed_size"], cfg["hidden_size"],
                         cfg["num_layers"], cfg["dropout"])
        # nn.RNN* warns when dropout > 0 with a single layer (it has no effect).
        p_rnn = p if L > 1 else 0.0
        self.embed = nn.Embedding(V, E)
        cell = cfg["cell"]
        if cell == "lstm":
            self.rnn = nn.LSTM(E, H, num_layers=L, dropout=p_rnn)
        elif cell == "gru":
            self.rnn = nn.GRU(E, H, num_layers=L, dropout=p_rnn)
        else:
            self.rnn = nn.RNN(E, H, num_layers=L, dropout=p_rnn,
                              nonlinearity="tanh" if cell == "rnn_tanh" else "relu")
        self.head = nn.Linear(H, V)

    def forward(self, x, state=None):
        """x: [T, B] int64 token ids; state: None (zeros), h [L, B, H] or (h, c) for LSTM.
        Returns (logits [T, B, V], new state)."""
        y, state = self.rnn(self.embed(x), state)
        return self.head(y), state


def detach_state(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


# ---------------------------------------------------------------- vocabulary / text

def read_text(path):
    """The code points of a UTF-8 file, as a str. Bytes are decoded strictly and
    exactly: no newline translation, a BOM stays a character (U+FEFF)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError("%s: invalid UTF-8 at byte %d" % (path, e.start)) from None


def build_vocab(*texts):
    """Sorted distinct code points of all the texts (list of ints)."""
    s = set()
    for t in texts:
        s.update(t)
    return sorted(ord(c) for c in s)


def _vocab_ints(vocab):
    out = []
    for v in vocab:
        if isinstance(v, str):
            if len(v) != 1:
                raise ValueError("vocabulary entry %r is not one character" % (v,))
            v = ord(v)
        v = int(v)
        if not 0 <= v <= 0x10FFFF:
            raise ValueError("vocabulary entry %d is not a Unicode code point" % v)
        out.append(v)
    return out


def encode(text, vocab):
    """text (str) -> np.ndarray int64 of token ids; vocab: code points (ints) or
    1-char strings, in token-id order. A character outside the vocabulary is a
    ValueError naming it and its position."""
    index = {cp: i for i, cp in enumerate(_vocab_ints(vocab))}
    ids = np.empty(len(text), dtype=np.int64)
    for i, c in enumerate(text):
        j = index.get(ord(c))
        if j is None:
            raise ValueError("character U+%04X %r at position %d is not in the vocabulary"
                             % (ord(c), c, i))
        ids[i] = j
    return ids


def decode(ids, vocab):
    vocab = _vocab_ints(vocab)
    return "".join(chr(vocab[int(i)]) for i in ids)


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(model, vocab, cfg, path, extra_tensors=None):
    """Write model (a CharRNN) in our checkpoint format. vocab: code points (or
    1-char strings) in token-id order; cfg: the model's config. extra_tensors
    (optional dict name -> array, names starting with optim. or train.) are
    written after the model's tensors."""
    cfg = _check_config(cfg)
    vocab = _vocab_ints(vocab)
    if any(a >= b for a, b in zip(vocab, vocab[1:])):
        raise ValueError("vocabulary is not sorted ascending without duplicates")
    if len(vocab) != cfg["vocab_size"]:
        raise ValueError("vocabulary has %d entries, config vocab_size %d"
                         % (len(vocab), cfg["vocab_size"]))
    sd = model.state_dict()
    names = ["embed.weight"] + [k for k in sd if k.startswith("rnn.")] + ["head.weight", "head.bias"]
    if sorted(names) != sorted(sd):
        raise ValueError("unexpected state_dict keys %s" % sorted(set(sd) - set(names)))
    tensors = {k: sd[k].detach().cpu().to(torch.float32).numpy() for k in names}
    for k, v in (extra_tensors or {}).items():
        if not k.startswith(TRAIN_PREFIXES):
            raise ValueError("extra tensor %r must start with optim. or train." % k)
        tensors[k] = np.asarray(v)
    config = {k: cfg[k] for k in CONFIG_KEYS}
    meta = {
        "format": "pt",
        "rnn.version": FORMAT_VERSION,
        "rnn.task": TASK,
        "rnn.config": json.dumps(config, separators=(", ", ": ")),
        "rnn.vocab": json.dumps(vocab, separators=(",", ":")),
    }
    sttools.save_file(tensors, path, meta)


def load_checkpoint(path):
    """-> (model, vocab, cfg): a CharRNN in eval mode with the checkpoint's float32
    parameters (load_state_dict strict, after dropping optim.* and train.*), the
    vocabulary as a list of code points, the config dict."""
    try:
        tensors, meta = sttools.load_file(path)
    except sttools.SafetensorsError as e:
        raise CheckpointError("%s: %s" % (path, e)) from None
    for k, want in (("format", "pt"), ("rnn.version", FORMAT_VERSION), ("rnn.task", TASK)):
        if meta.get(k) != want:
            raise CheckpointError("%s: metadata %s = %r, expected %r" % (path, k, meta.get(k), want))
    for k in ("rnn.config", "rnn.vocab"):
        if k not in meta:
            raise CheckpointError("%s: metadata lacks %s" % (path, k))
    try:
        cfg = json.loads(meta["rnn.config"])
        vocab = json.loads(meta["rnn.vocab"])
    except json.JSONDecodeError as e:
        raise CheckpointError("%s: metadata is not valid JSON: %s" % (path, e)) from None
    cfg = _check_config(cfg)
    if (not isinstance(vocab, list)
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0x10FFFF
                       for v in vocab)):
        raise CheckpointError("%s: rnn.vocab is not a JSON array of code points" % path)
    if any(a >= b for a, b in zip(vocab, vocab[1:])):
        raise CheckpointError("%s: rnn.vocab is not sorted ascending without duplicates" % path)
    if len(vocab) != cfg["vocab_size"]:
        raise CheckpointError("%s: rnn.vocab has %d entries, vocab_size is %d"
                              % (path, len(vocab), cfg["vocab_size"]))
    sd = {}
    for k, a in tensors.items():
        if k.startswith(TRAIN_PREFIXES):
            continue
        if a.dtype != np.float32:
            raise CheckpointError("%s: tensor %s is %s, expected F32" % (path, k, a.dtype))
        sd[k] = torch.from_numpy(a)
    model = CharRNN(cfg)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError("%s: %s" % (path, " ".join(str(e).split()))) from None
    model.eval()
    return model, vocab, cfg


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def stream_logits(model, ids, chunk=1024):
    """Logits [N, V] float32 for inputs ids (one stream, B = 1, zero initial state,
    state carried), in eval mode."""
    was = model.training
    model.eval()
    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    out = []
    state = None
    for s in range(0, len(ids), chunk):
        x = ids[s:s + chunk].view(-1, 1)
        logits, state = model(x, state)
        out.append(logits[:, 0, :])
    model.train(was)
    if not out:
        return torch.zeros(0, model.cfg["vocab_size"])
    return torch.cat(out, 0)


@torch.no_grad()
def stream_nll(model, ids, chunk=1024):
    """Sum of -log p(ids[t+1] | ids[..t]) over t = 0..N-2, and the count N-1:
    one stream (B = 1), zero initial state, state carried, eval mode. The float32
    logits are log-softmaxed and summed in float64."""
    was = model.training
    model.eval()
    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    n = len(ids) - 1
    total = 0.0
    state = None
    for s in range(0, max(n, 0), chunk):
        e = min(s + chunk, n)
        x = ids[s:e].view(-1, 1)
        y = ids[s + 1:e + 1]
        logits, state = model(x, state)
        lp = torch.log_softmax(logits[:, 0, :].double(), dim=-1)
        total += float(-lp.gather(1, y.view(-1, 1)).sum())
    model.train(was)
    return total, max(n, 0)


# ---------------------------------------------------------------- CLI

USAGE = """usage: torch_model.py eval CKPT TEXT
       torch_model.py logits CKPT TEXT OUT.npy
"""


def _fail(msg):
    sys.stderr.write("torch_model: %s\n" % msg)
    sys.exit(2)


def main(argv):
    if len(argv) >= 1 and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if not argv or argv[0] not in ("eval", "logits") or \
            len(argv) != {"eval": 3, "logits": 4}[argv[0]]:
        sys.stderr.write(USAGE)
        return 2
    cmd, ckpt, textpath = argv[0], argv[1], argv[2]
    try:
        model, vocab, cfg = load_checkpoint(ckpt)
    except (OSError, CheckpointError) as e:
        _fail(str(e))
    try:
        text = read_text(textpath)
    except (OSError, ValueError) as e:
        _fail(str(e))
    try:
        ids = encode(text, vocab)
    except ValueError as e:
        _fail("%s: %s" % (textpath, e))
    if cmd == "eval":
        if len(ids) < 2:
            _fail("%s: needs at least 2 characters, has %d" % (textpath, len(ids)))
        total, n = stream_nll(model, ids)
        nats = total / n
        print("nats/char %.6f bits/char %.6f perplexity %.6f chars %d"
              % (nats, nats / math.log(2), math.exp(nats), len(ids)))
    else:
        logits = stream_logits(model, ids).numpy().astype(np.float32)
        out = argv[3]
        # .npy written atomically like the rest of our tools.
        import io
        buf = io.BytesIO()
        np.save(buf, logits)
        sttools.write_atomic(out, buf.getvalue())
    return 0


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    sys.exit(main(sys.argv[1:]))
