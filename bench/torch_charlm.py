#!/usr/bin/python3
"""torch_charlm.py -- the PyTorch half of the char-LM benchmark (see README.md).

    /usr/bin/python3 bench/torch_charlm.py TEXT [--val-file FILE] [--cell lstm]
        [--hidden 128] [--layers 2] [--embed 64] [--dropout 0] [--seq-len 50]
        [--batch 50] [--lr 2e-3] [--clip 5] [--val-frac 0.05] [--eval-every 200]
        [--minutes 2,5,10] [--max-steps 0] [--threads 1] [--blas-threads 1] [--seed 0]
        [--log FILE.csv] [--save CKPT.safetensors] [--save-init CKPT] [--init CKPT]

Trains the character-level language model of tools/torch_model.py with exactly
the semantics `rnn train` implements:

- TEXT is decoded as UTF-8 into code points; vocabulary = the sorted distinct code
  points of the whole file (with --val-file, of both files).
- Split: n_val = floor(N * val_frac) (in double precision); validation = the LAST
  n_val code points, training = the first N - n_val. With --val-file, training =
  all of TEXT and validation = all of the other file (--val-frac is ignored).
- Batches: truncated BPTT over B parallel streams. S = (Ntr - 1) // B; stream b is
  ids[b*S : b*S + S + 1]; batch k of an epoch has x[t][b] = stream_b[k*T + t] and
  y[t][b] = stream_b[k*T + t + 1]; S // T batches per epoch (the rest is dropped).
  The state is zero at the start of each epoch and carried (detached) from batch
  to batch within it.
- Loss: mean cross-entropy over the T*B predictions; Adam(lr, betas=(0.9, 0.999),
  eps=1e-8); clip_grad_norm_(all parameters, clip) before each step (clip <= 0:
  none); dropout between recurrent layers in training mode only. Constant lr.
- Validation (eval mode): Bv = min(B, max(1, (Nval - 1) // T)) streams of
  Sv = (Nval - 1) // Bv predictions each (stream b = val[b*Sv : b*Sv + Sv + 1]),
  in chunks of T steps (the last one shorter), state carried from zero; the loss
  is the mean cross-entropy over all Bv * Sv predictions (summed in float64).

Timing: only training steps count (batch slicing, forward, backward, clipping,
Adam step); the clock is paused during validation. The validation loss is
computed every --eval-every steps and at each --minutes mark (after the first
step at which the training time reaches the mark). Training stops after the last
mark (or after --max-steps, if given, whichever comes first). One line is printed
per evaluation; a summary table of the validation loss at each mark ends the run.
The CSV log has one row per evaluation:
    step, epoch, train_loss, val_loss, lr, tokens_per_s, elapsed_s
(epoch: fractional, steps / batches-per-epoch; train_loss: mean of the batch
losses since the previous evaluation; tokens_per_s: T*B*steps / training seconds
since the previous evaluation; elapsed_s: training seconds since the start).
Losses are in nats per character.
"""

import argparse
import csv
import math
import os
import sys
import time

# torch, numpy and torch_model are imported in main(), after the arguments are
# parsed: OPENBLAS_NUM_THREADS must be set before OpenBLAS is loaded.
np = torch = F = tm = None
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")  # = torch_model.CELLS


def import_torch():
    global np, torch, F, tm
    try:
        import numpy
        import torch as torch_
        import torch.nn.functional as F_
    except ImportError as e:
        sys.stderr.write("torch_charlm: cannot import torch/numpy (%s).\n"
                         "Run it with Debian's /usr/bin/python3 (python3-torch).\n" % e)
        sys.exit(2)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    import torch_model
    np, torch, F, tm = numpy, torch_, F_, torch_model


def blas_threads():
    """OpenBLAS's thread count as OpenBLAS reports it (None: not OpenBLAS)."""
    import ctypes
    for name in ("libopenblas.so.0", "libopenblas.so"):
        try:
            return int(ctypes.CDLL(name).openblas_get_num_threads())
        except (OSError, AttributeError):
            pass
    return None


def parse_minutes(s):
    if s.strip() == "":
        return []
    out = []
    for part in s.split(","):
        v = float(part)
        if not v > 0 or math.isinf(v):
            raise argparse.ArgumentTypeError("minute marks must be positive: %r" % part)
        out.append(v)
    return sorted(set(out))


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="torch_charlm.py",
        description="PyTorch reference training of the char-RNN language model (benchmark).")
    p.add_argument("text", help="training text (UTF-8)")
    p.add_argument("--val-file", help="separate validation text (then --val-frac is ignored)")
    p.add_argument("--cell", default="lstm", choices=CELLS)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0, help="global-norm clip; <= 0: none")
    p.add_argument("--val-frac", type=float, default=0.05)
    p.add_argument("--eval-every", type=int, default=200, help="steps; 0: only at the marks")
    p.add_argument("--minutes", type=parse_minutes, default=parse_minutes("2,5,10"),
                   help="comma-separated training-time marks in minutes (default 2,5,10)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads: PyTorch's intra-op (OpenMP) threads (default 1)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="OpenBLAS threads, used by the matrix products (default 1; "
                        "--threads 2 with --blas-threads 2 oversubscribes 2 cores badly)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", help="CSV log file")
    p.add_argument("--save", help="write the final model here (our checkpoint format)")
    p.add_argument("--save-init", help="write the initial model here (before the first step)")
    p.add_argument("--init", help="start from this checkpoint's parameters instead of a random "
                                  "initialisation (same config and vocabulary required)")
    a = p.parse_args(argv)
    for k in ("hidden", "layers", "embed", "seq_len", "batch", "threads", "blas_threads"):
        if getattr(a, k) < 1:
            p.error("--%s must be >= 1" % k.replace("_", "-"))
    if not 0.0 <= a.dropout < 1.0:
        p.error("--dropout must be in [0, 1)")
    if not 0.0 <= a.val_frac < 1.0:
        p.error("--val-frac must be in [0, 1)")
    if a.eval_every < 0 or a.max_steps < 0:
        p.error("--eval-every and --max-steps must be >= 0")
    if not a.minutes and a.max_steps == 0:
        p.error("nothing stops the run: give --minutes or --max-steps")
    return a


def split_text(args):
    """-> (train_text, val_text, vocab)"""
    text = tm.read_text(args.text)
    if args.val_file:
        val = tm.read_text(args.val_file)
        return text, val, tm.build_vocab(text, val)
    n = len(text)
    n_val = int(math.floor(n * args.val_frac))
    return text[:n - n_val], text[n - n_val:], tm.build_vocab(text)


def make_streams(ids, nstreams, length):
    """[nstreams, length + 1] int64: row b = ids[b*length : b*length + length + 1]."""
    idx = np.arange(nstreams)[:, None] * length + np.arange(length + 1)[None, :]
    return torch.from_numpy(np.ascontiguousarray(ids[idx]))


def validation_loss(model, val_ids, B, T):
    n = len(val_ids)
    if n < 2:
        return float("nan")
    Bv = min(B, max(1, (n - 1) // T))
    Sv = (n - 1) // Bv
    data = make_streams(val_ids, Bv, Sv)
    model.eval()
    state = None
    total = 0.0
    with torch.no_grad():
        for s in range(0, Sv, T):
            e = min(s + T, Sv)
            x = data[:, s:e].t().contiguous()
            y = data[:, s + 1:e + 1].t().contiguous()
            logits, state = model(x, state)
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                 reduction="none")
            total += float(ce.double().sum())
    model.train()
    return total / (Bv * Sv)


def fmt(v, spec):
    return "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def main(argv):
    args = parse_args(argv)
    # OpenBLAS reads its thread count when it is loaded (with torch); without this
    # it starts one thread per core even when torch is told to use one thread.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import_torch()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    try:
        train_text, val_text, vocab = split_text(args)
    except (OSError, ValueError) as e:
        sys.stderr.write("torch_charlm: %s\n" % e)
        return 2
    train_ids = tm.encode(train_text, vocab)
    val_ids = tm.encode(val_text, vocab)
    V, T, B = len(vocab), args.seq_len, args.batch
    Ntr, Nval = len(train_ids), len(val_ids)
    S = (Ntr - 1) // B if Ntr > 0 else 0
    nb = S // T
    if nb < 1:
        sys.stderr.write("torch_charlm: %d training characters are too few for --batch %d "
                         "--seq-len %d (need at least B*T + 1 = %d)\n" % (Ntr, B, T, B * T + 1))
        return 2
    data = make_streams(train_ids, B, S)
    # Batch k: inputs/targets [T, B], contiguous, precomputed (cheap: 2 * Ntr int64).
    xs = [data[:, k * T:k * T + T].t().contiguous() for k in range(nb)]
    ys = [data[:, k * T + 1:k * T + T + 1].t().contiguous() for k in range(nb)]

    cfg = dict(cell=args.cell, vocab_size=V, embed_size=args.embed, hidden_size=args.hidden,
               num_layers=args.layers, dropout=args.dropout)
    model = tm.CharRNN(cfg)
    if args.init:
        try:
            init, ivocab, icfg = tm.load_checkpoint(args.init)
        except (OSError, tm.CheckpointError) as e:
            sys.stderr.write("torch_charlm: --init: %s\n" % e)
            return 2
        if ivocab != vocab or icfg != cfg:
            sys.stderr.write("torch_charlm: --init %s: config/vocabulary %s, %d symbols differ "
                             "from this run's %s, %d symbols\n"
                             % (args.init, icfg, len(ivocab), cfg, len(vocab)))
            return 2
        model.load_state_dict(init.state_dict())
    if args.save_init:
        tm.save_checkpoint(model, vocab, cfg, args.save_init)
    model.train()
    params = list(model.parameters())
    nparams = sum(p.numel() for p in params)
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    if Nval >= 2:
        Bv = min(B, max(1, (Nval - 1) // T))
        vdesc = "%d chars, %d streams x %d" % (Nval, Bv, (Nval - 1) // Bv)
    else:
        vdesc = "%d chars (no validation)" % Nval
    print("torch_charlm: text %s: %d chars, vocab %d; train %d chars (%d streams x %d, "
          "%d batches/epoch); val %s" % (args.text, Ntr + (0 if args.val_file else Nval), V,
                                          Ntr, B, S, nb, vdesc))
    print("torch_charlm: %s %dx%d embed %d dropout %g, %d parameters; seq %d batch %d lr %g "
          "clip %g; torch %s, %d thread(s), OpenBLAS %s thread(s); marks %s min"
          % (args.cell, args.layers, args.hidden, args.embed, args.dropout, nparams, T, B,
             args.lr, args.clip, torch.__version__, torch.get_num_threads(),
             blas_threads() or "?",
             ",".join("%g" % m for m in args.minutes) or "-"))
    sys.stdout.flush()

    logf = None
    if args.log:
        logf = open(args.log, "w", newline="")
        logw = csv.writer(logf)
        logw.writerow(["step", "epoch", "train_loss", "val_loss", "lr", "tokens_per_s", "elapsed_s"])
        logf.flush()

    marks = [m * 60.0 for m in args.minutes]
    mark_results = []           # (minutes, step, elapsed, val)
    step = 0
    k = 0                       # batch index within the epoch
    state = None
    elapsed = 0.0               # training seconds
    last_step, last_elapsed = 0, 0.0
    loss_sum, loss_n = 0.0, 0
    wall0 = time.perf_counter()

    def evaluate():
        nonlocal last_step, last_elapsed, loss_sum, loss_n
        val = validation_loss(model, val_ids, B, T)
        dt = elapsed - last_elapsed
        tps = (step - last_step) * T * B / dt if dt > 0 else float("nan")
        train = loss_sum / loss_n if loss_n else float("nan")
        epoch = step / nb
        print("step %6d  epoch %7.3f  time %8.1fs  train %s  val %s (%s bits)  %s tok/s"
              % (step, epoch, elapsed, fmt(train, ".4f"), fmt(val, ".4f"),
                 fmt(val / math.log(2), ".4f"), fmt(tps, ".0f")))
        sys.stdout.flush()
        if logf:
            logw.writerow([step, "%.4f" % epoch, fmt(train, ".6f"), fmt(val, ".6f"),
                           "%g" % args.lr, fmt(tps, ".1f"), "%.3f" % elapsed])
            logf.flush()
        last_step, last_elapsed = step, elapsed
        loss_sum, loss_n = 0.0, 0
        return val

    while True:
        t0 = time.perf_counter()
        if k == 0:
            state = None
        x, y = xs[k], ys[k]
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, args.clip)
        opt.step()
        state = tm.detach_state(state)
        lv = loss.item()
        elapsed += time.perf_counter() - t0
        step += 1
        k = (k + 1) % nb
        loss_sum += lv
        loss_n += 1
        if not math.isfinite(lv):
            sys.stderr.write("torch_charlm: loss is %r at step %d; stopping\n" % (lv, step))
            break

        reached = [m for m in marks if elapsed >= m]
        done = len(reached) == len(marks) if marks else False
        if args.max_steps and step >= args.max_steps:
            done = True
        if reached or (args.eval_every and step % args.eval_every == 0) or done:
            val = evaluate()
            for m in reached:
                mark_results.append((m / 60.0, step, elapsed, val))
            marks = [m for m in marks if elapsed < m]
        if done:
            break

    wall = time.perf_counter() - wall0
    if logf:
        logf.close()
    print()
    print("summary: %s %dx%d, seq %d batch %d, threads %d, OpenBLAS threads %d; %d steps "
          "(%.3f epochs) in %.1fs of training (%.1fs wall), %.0f tok/s overall"
          % (args.cell, args.layers, args.hidden, T, B, args.threads, args.blas_threads,
             step, step / nb, elapsed,
             wall, step * T * B / elapsed if elapsed > 0 else float("nan")))
    print("%8s %8s %10s %10s %10s" % ("minutes", "step", "train_s", "val_nats", "val_bits"))
    for m, st, el, val in mark_results:
        print("%8g %8d %10.1f %10s %10s" % (m, st, el, fmt(val, ".4f"), fmt(val / math.log(2), ".4f")))
    for m in marks:  # marks never reached (--max-steps stopped the run first)
        print("%8g %8s %10s %10s %10s" % (m / 60.0, "-", "-", "-", "-"))
    if args.save:
        tm.save_checkpoint(model, vocab, cfg, args.save)
        print("saved %s" % args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
