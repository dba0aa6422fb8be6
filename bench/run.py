#!/usr/bin/python3
"""make bench: our engine and PyTorch on the same cases, in the same run.

Runs every case of the matrix with `rnn bench` (1 and 2 threads) and with
bench/torch_bench.py under each of PyTorch's thread settings (torch threads x
OpenBLAS threads), takes PyTorch's best, and prints one table with both
figures, the ratio and our fraction of the single-thread sgemm peak measured
in the same run. With --onednn (build/bench/onednn_rnn, bench/onednn_rnn.c),
the training and forward cases also run on oneDNN's own RNN primitives at 1
and 2 threads (training: the stack's forward and backward only), a second
table. Results also go to build/bench/results.json and a Markdown table to
build/bench/results.md.

  bench/run.py [--rnn build/rnn] [--onednn build/bench/onednn_rnn] [--quick] [--runs N]
               [--out build/bench]

The machine is shared and noisy: every figure is a median of repetitions, and
with --runs N the median over N passes over the whole matrix (passes spread
over minutes, so that a neighbour's burst of load does not decide a case).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SETTINGS = [(1, 1), (1, 2), (2, 1)]  # (torch threads, OpenBLAS threads); (2, 2) thrashes


def run_json(cmd, env=None, cpu=None):
    """Run cmd, return the JSON object on its last line of output; cpu: the
    one CPU the process (and its children) may run on, or None for any."""
    e = dict(os.environ)
    if env:
        e.update(env)
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, preexec_fn=pin)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def case_args(c):
    keys = ["cell", "layers", "hidden", "seq_len", "batch", "vocab", "embed", "input", "streams", "steps",
            "iters"]
    out = []
    for k in keys:
        if k in c:
            out += ["--" + k.replace("_", "-"), str(c[k])]
    return out


def has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx2" in f.read()
    except OSError:
        return False


def matrix(quick):
    cases = []
    hs = [256] if quick else [128, 256, 512]
    cells = ["lstm"] if quick else ["lstm", "gru", "rnn"]
    for cell in cells:
        for h in hs:
            steps = 6 if h == 512 else 10
            cases.append({"kind": "train", "cell": cell, "layers": 2, "hidden": h, "seq_len": 64,
                          "batch": 32, "vocab": 65, "steps": steps})
    for cell in cells:
        cases.append({"kind": "forward", "cell": cell, "layers": 2, "hidden": 256, "seq_len": 64,
                      "batch": 32, "iters": 15})
    for cell, i, h in ([("lstm", 64, 64)] if quick else
                       [("lstm", 64, 64), ("lstm", 32, 32), ("lstm", 16, 64), ("gru", 64, 64)]):
        cases.append({"kind": "stream", "cell": cell, "input": i, "hidden": h, "streams": 1, "steps": 20})
    if not quick:
        # the same step with the weights kept in half precision (an option of
        # the streaming API: half the bytes per step; the results are those
        # of the rounded weights, against PyTorch's float cell all the same)
        for w in ("f16", "bf16"):
            cases.append({"kind": "stream", "cell": "lstm", "input": 64, "hidden": 64, "streams": 1, "steps": 20,
                          "weights": w})
    if not quick and has_avx2():
        # what a CPU without AVX-512 runs (RNN_KERNELS=avx2): a regression
        # there (GCC's split 32-byte copies once made it 25x slower) shows here
        cases.append({"kind": "stream", "cell": "lstm", "input": 64, "hidden": 64, "streams": 1, "steps": 20,
                      "kernels": "avx2"})
    return cases


def label(c):
    if c["kind"] == "stream":
        isa = f" (RNN_KERNELS={c['kernels']})" if "kernels" in c else ""
        w = f", {c['weights']} weights" if "weights" in c else ""
        return f"stream {c['cell']} {c['input']}->{c['hidden']}, batch 1{w}{isa}"
    return f"{c['kind']} {c['layers']}x{c['cell']}-{c['hidden']}, T {c['seq_len']}, B {c['batch']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rnn", default="build/rnn")
    ap.add_argument("--onednn", default="",
                    help="oneDNN's RNN primitives as a second peer (bench/onednn_rnn.c); skipped if absent")
    ap.add_argument("--quick", action="store_true", help="a few cases only")
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--runs", type=int, default=1,
                    help="passes over the matrix; each figure is the median over the passes")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("bench/run.py: PyTorch is not importable by /usr/bin/python3; install Debian's "
                 "python3-torch (the benchmark always runs the PyTorch peer)")
    os.makedirs(a.out, exist_ok=True)
    env_note = {k: os.environ.get(k, "(unset)") for k in ["OPENBLAS_CORETYPE", "OMP_NUM_THREADS"]}
    t_start = time.time()
    # The peak is the fastest repetition of a 2048^3 sgemm, probed before and
    # after the cases, the better of the two: what the machine reached (on a
    # shared machine a median, or one probe, sags with the neighbours' load).
    def probe():
        return run_json([a.rnn, "bench", "gemm", "--size", "2048", "--iters", "20"])
    peak = probe()
    peak["gflops"] = peak["gflops_best"]
    print(f"sgemm peak (2048^3, 1 thread, {peak['kernels']} kernels): {peak['gflops']:.1f} GFLOP/s "
          "(probed again at the end)", flush=True)
    # the host as two threads see it (2-thread figures move with it): the
    # cores' round trip and each core's in-cache sgemm rate alone and together
    def host():
        if (os.cpu_count() or 1) < 2:
            return None
        try:
            h = run_json([a.rnn, "bench", "cores"])
        except RuntimeError as e:  # e.g. CPUs 0 and 1 not both ours
            print(f"host: not measured ({e})", flush=True)
            return None
        print(f"host: cores' round trip {h['roundtrip_ns']:.0f} ns; in-cache sgemm GFLOP/s per core "
              f"alone {h['gflops_alone'][0]:.0f}/{h['gflops_alone'][1]:.0f}, together "
              f"{h['gflops_together'][0]:.0f}/{h['gflops_together'][1]:.0f}", flush=True)
        return h
    hosts = [host()]
    cases = matrix(a.quick)
    onednn = a.onednn if a.onednn and os.access(a.onednn, os.X_OK) else None
    if a.onednn and not onednn:
        print(f"oneDNN peer: {a.onednn} not built (libdnnl-dev missing?); its table is left out", flush=True)
    runs = []  # runs[n][i]: the raw figures of case i in pass n
    # 1-thread runs pinned to one CPU, the CPUs taking turns by pass, and
    # the peers before or after ours by pass (run_case)
    cpus = sorted(os.sched_getaffinity(0))
    for n in range(a.runs):
        cpu, peers_first = cpus[n % len(cpus)], n % 2 == 1
        print(f"pass {n + 1} of {a.runs}: 1-thread runs on CPU {cpu}, "
              f"{'the peers first' if peers_first else 'ours first'}", flush=True)
        raw = []
        for c in cases:
            r = run_case(a.rnn, c, onednn, cpu, peers_first)
            raw.append(r)
            print(row_text(derive(dict(r))), flush=True)
        runs.append(raw)
    hosts.append(host())
    again = probe()
    peak["gflops"] = max(peak["gflops"], again["gflops_best"])
    print(f"sgemm peak, the better of the two probes: {peak['gflops']:.1f} GFLOP/s", flush=True)
    # each figure: the median over the passes (each already a median of repetitions)
    results = [derive(combine([runs[n][i] for n in range(a.runs)]), peak["gflops"])
               for i in range(len(cases))]

    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(),
            "cpus": os.cpu_count(), "env": env_note, "sgemm_peak_gflops": peak["gflops"],
            "kernels": peak["kernels"], "seconds": round(time.time() - t_start), "runs": a.runs,
            "host": [h for h in hosts if h],
            "pinning": "1-thread runs pinned to one CPU per pass (CPUs "
                       + ", ".join(str(cpus[n % len(cpus)]) for n in range(a.runs))
                       + " by pass), ours and the peers in turn first"}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    md = markdown(results, meta)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    print()
    print(md)


def torch_json(args, env, cpu=None):
    """One bench/torch_bench.py run; PyTorch must run on OpenBLAS (on the
    reference BLAS, which Debian's torch falls back to when OpenBLAS is not
    installed, it is tens of times slower and the ratios mean nothing)."""
    j = run_json(["/usr/bin/python3", os.path.join(HERE, "torch_bench.py")] + args, env, cpu)
    if "openblas" not in j.get("blas", "").lower():
        sys.exit(f"bench/run.py: PyTorch runs on {j.get('blas')!r}, not OpenBLAS: install libopenblas0 "
                 "(`make bench` does, as root) so that the PyTorch peer is measured as users run it")
    return j


def run_case(rnn, c, onednn=None, cpu=None, peers_first=False):
    """The raw figures of one case: ours (1 and 2 threads), PyTorch's and,
    given its binary, oneDNN's primitives' (1 and 2 threads). Every
    1-thread run is pinned to `cpu`: the two CPUs of this host differ in
    speed by up to ~12% at times, and an unpinned process started right
    after another tends to land on the other CPU, which made whichever ran
    second look faster (identical binaries run in turn: 4-11%). peers_first:
    the peers run before ours (passes alternate the order)."""
    kind = c["kind"]
    args = case_args({k: v for k, v in c.items() if k not in ("kind", "kernels", "weights")})
    r = {"case": c, "label": label(c)}
    if kind == "stream":
        def ours():
            wargs = ["--weights", c["weights"]] if "weights" in c else []
            r["ours"] = run_json([rnn, "bench", kind] + args + wargs,
                                 {"RNN_KERNELS": c["kernels"]} if "kernels" in c else None, cpu)

        def torch():
            r["torch"] = torch_json([kind] + args, {"OPENBLAS_NUM_THREADS": "1"}, cpu)
        for f in ((torch, ours) if peers_first else (ours, torch)):
            f()
        return r
    # the same stack in oneDNN: input size = embedding size = hidden size (as
    # ours); each thread count next to ours, so that both meet the same host
    dargs = ["--cell", c["cell"], "--layers", str(c["layers"]), "--hidden", str(c["hidden"]),
             "--seq-len", str(c["seq_len"]), "--batch", str(c["batch"]),
             "--iters", str(c.get("steps", c.get("iters", 10)))]

    def torch_runs():  # PyTorch's settings, before ours and oneDNN's or after them
        return [torch_json([kind, "--threads", str(tt)] + args, {"OPENBLAS_NUM_THREADS": str(bt)},
                           cpu if tt * bt == 1 else None)
                for tt, bt in TORCH_SETTINGS]
    if peers_first:
        r["torch_all"] = torch_runs()
    dn = []
    for t in (1, 2):
        pin = cpu if t == 1 else None

        def ours():
            r[f"ours_{t}"] = run_json([rnn, "bench", kind, "--threads", str(t)] + args, None, pin)

        def peer():
            if onednn:
                try:
                    dn.append(run_json([onednn, kind, "--threads", str(t)] + dargs, None, pin))
                except RuntimeError as e:  # the peer's failure leaves its column out, not the run
                    print(f"oneDNN peer: {e}", flush=True)
        for f in ((peer, ours) if peers_first else (ours, peer)):
            f()
    if len(dn) == 2:
        r["onednn"] = dn
    if not peers_first:
        r["torch_all"] = torch_runs()
    return r


def median_dict(ds):
    """Per key: the median of the numbers, the first value of anything else."""
    out = dict(ds[0])
    for key, v in ds[0].items():
        vals = [d[key] for d in ds]
        if isinstance(v, (int, float)) and not isinstance(v, bool) and len(set(vals)) > 1:
            out[key] = statistics.median(vals)
    return out


def combine(rs):
    r = {"case": rs[0]["case"], "label": rs[0]["label"]}
    if "ours" in rs[0]:
        r["ours"] = median_dict([x["ours"] for x in rs])
        r["torch"] = median_dict([x["torch"] for x in rs])
        return r
    r["ours_1"] = median_dict([x["ours_1"] for x in rs])
    r["ours_2"] = median_dict([x["ours_2"] for x in rs])
    r["torch_all"] = [median_dict([x["torch_all"][j] for x in rs]) for j in range(len(TORCH_SETTINGS))]
    if all("onednn" in x for x in rs):
        r["onednn"] = [median_dict([x["onednn"][j] for x in rs]) for j in range(2)]
    return r


def derive(r, peak_gflops=None):
    """Ratios from the raw figures: PyTorch's best setting, ours/PyTorch,
    2T/1T and (given the peak) the fraction of the sgemm peak."""
    if "ours" in r:
        r["ratio"] = r["torch"]["us_per_step"] / r["ours"]["us_per_step"]
        return r
    tor = r["torch_all"]
    r["torch_1"] = tor[0]
    r["torch_best"] = max(tor, key=lambda t: t["tokens_per_s"])
    ours_best = max(r["ours_1"]["tokens_per_s"], r["ours_2"]["tokens_per_s"])
    r["ratio"] = ours_best / r["torch_best"]["tokens_per_s"]
    r["ratio_1"] = r["ours_1"]["tokens_per_s"] / r["torch_1"]["tokens_per_s"]
    r["scaling"] = r["ours_2"]["tokens_per_s"] / r["ours_1"]["tokens_per_s"]
    if peak_gflops:
        r["peak_frac"] = r["ours_1"]["gflops"] / peak_gflops
    if "onednn" in r:
        r["vs_onednn"] = [r[f"ours_{t}"]["tokens_per_s"] / r["onednn"][t - 1]["tokens_per_s"] for t in (1, 2)]
    return r


def k(x):
    return f"{x / 1e3:.1f}k"


def row_text(r):
    c = r["case"]
    if c["kind"] == "stream":
        return (f"{r['label']:<38} ours {r['ours']['us_per_step']:.3f} us  torch "
                f"{r['torch']['us_per_step']:.2f} us  x{r['ratio']:.0f}")
    tb = r["torch_best"]
    dn = ""
    if "onednn" in r:
        dn = (f"  oneDNN {k(r['onednn'][0]['tokens_per_s'])}/{k(r['onednn'][1]['tokens_per_s'])} "
              f"(ours x{r['vs_onednn'][0]:.2f}/x{r['vs_onednn'][1]:.2f})")
    return (f"{r['label']:<38} ours {k(r['ours_1']['tokens_per_s'])}/{k(r['ours_2']['tokens_per_s'])} tok/s "
            f"(1/2 threads)  torch best {k(tb['tokens_per_s'])} (t{tb['threads']},blas{tb['blas_threads']})  "
            f"x{r['ratio']:.2f}  2T/1T {r['scaling']:.2f}  {r['ours_1']['gflops']:.0f} GFLOP/s  "
            f"RSS {r['ours_1']['peak_rss_mb']:.0f}/{r['torch_1']['peak_rss_mb']:.0f} MB{dn}")


def markdown(results, meta):
    passes = f", then the median of {meta['runs']} passes" if meta.get("runs", 1) > 1 else ""
    lines = [f"Run {meta['date']}, {meta['cpus']} CPUs, OPENBLAS_CORETYPE={meta['env']['OPENBLAS_CORETYPE']}, "
             f"our kernels: {meta['kernels']}, single-thread sgemm peak {meta['sgemm_peak_gflops']:.1f} "
             f"GFLOP/s (shared, noisy machine; medians of repetitions{passes}). "
             f"{meta['pinning'][0].upper()}{meta['pinning'][1:]}."]
    if meta.get("host"):
        hs = meta["host"]
        lines[-1] += (" Host before/after: cores' round trip "
                      + "/".join(f"{h['roundtrip_ns']:.0f}" for h in hs) + " ns; in-cache sgemm per core alone "
                      + "; ".join(f"{h['gflops_alone'][0]:.0f}/{h['gflops_alone'][1]:.0f}" for h in hs)
                      + ", together " + "; ".join(f"{h['gflops_together'][0]:.0f}/{h['gflops_together'][1]:.0f}"
                                                  for h in hs) + " GFLOP/s (`rnn bench cores`).")
    lines += ["",
             "| case | ours 1 thread | ours 2 threads | PyTorch 1 thread | PyTorch best (setting) | "
             "ours best / PyTorch best | 2T/1T | % of sgemm peak (1T) | peak RSS ours / PyTorch |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r["case"]
        if c["kind"] == "stream":
            continue
        tb = r["torch_best"]
        lines.append(f"| {r['label']} | {k(r['ours_1']['tokens_per_s'])} | {k(r['ours_2']['tokens_per_s'])} | "
                     f"{k(r['torch_1']['tokens_per_s'])} | {k(tb['tokens_per_s'])} "
                     f"(torch {tb['threads']}, BLAS {tb['blas_threads']}) | **{r['ratio']:.2f}x** | "
                     f"{r['scaling']:.2f} | {100 * r['peak_frac']:.0f}% | "
                     f"{r['ours_1']['peak_rss_mb']:.0f} / {r['torch_1']['peak_rss_mb']:.0f} MB |")
    dn = [r for r in results if "onednn" in r]
    if dn:
        lines += ["", f"oneDNN's own RNN primitives ({dn[0]['onednn'][0]['impl']}, bench/onednn_rnn.c), same run: "
                  "training is the stack's forward and backward only (no embedding, head, loss or optimizer), "
                  "ours the full step; weights reordered into the primitives' layouts beforehand, not timed.", "",
                  "| case | ours 1 thread | oneDNN 1 thread | ours / oneDNN | ours 2 threads | oneDNN 2 threads "
                  "| ours / oneDNN |", "|---|---|---|---|---|---|---|"]
        for r in dn:
            lines.append(f"| {r['label']} | {k(r['ours_1']['tokens_per_s'])} | {k(r['onednn'][0]['tokens_per_s'])} | "
                         f"**{r['vs_onednn'][0]:.2f}x** | {k(r['ours_2']['tokens_per_s'])} | "
                         f"{k(r['onednn'][1]['tokens_per_s'])} | **{r['vs_onednn'][1]:.2f}x** |")
    lines += ["", "| streaming step | ours | PyTorch (nn.*Cell, no_grad) | ratio |", "|---|---|---|---|"]
    for r in results:
        if r["case"]["kind"] == "stream":
            lines.append(f"| {r['label']} | {r['ours']['us_per_step']:.3f} us | "
                         f"{r['torch']['us_per_step']:.2f} us | {r['ratio']:.0f}x |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
