#!/usr/bin/env python3
"""Markdown summary of a bench/cuda/run.sh directory: r1 decode with CUDA graphs on and off,
llama.cpp (when measured), the phase timings and whether the CUDA tests passed.

    summary.py OUT_DIR TESTS_STATUS
"""
import json
import os
import statistics
import sys


def read_jsonl(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def mean_sd(values):
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def r1_table(rows):
    out = ["| r1 | pp t/s | tg t/s | tg ms/token (p50) | graph steps | instantiations | updates | fallbacks |",
           "|---|---|---|---|---|---|---|---|"]
    tg_means = {}
    for graphs in (True, False):
        sel = [r for r in rows if r.get("graphs") is graphs]
        if not sel:
            continue
        tg = [r["tg_tps"] for r in sel]
        tg_means[graphs] = statistics.mean(tg)
        out.append(f"| graphs {'on' if graphs else 'off'} | {mean_sd([r['pp_tps'] for r in sel])} | {mean_sd(tg)} | "
                   f"{statistics.median([r['tg_ms_p50'] for r in sel]):.3f} | "
                   f"{sum(r['graph_steps'] for r in sel)} | {sum(r['instantiations'] for r in sel)} | "
                   f"{sum(r['updates'] for r in sel)} | {sum(r['fallbacks'] for r in sel)} |")
    if True in tg_means and False in tg_means and tg_means[False] > 0:
        out.append("")
        out.append(f"tg speed-up from graphs: {tg_means[True] / tg_means[False]:.3f}x")
    return out


def llama_table(rows):
    if not rows:
        return ["llama.cpp: not measured (no R1_LLAMACPP_DIR with llama-bench)"]
    out = ["| llama.cpp | test | t/s |", "|---|---|---|"]
    for r in rows:
        test = f"pp{r.get('n_prompt', 0)}" if r.get("n_gen", 0) == 0 else f"tg{r.get('n_gen', 0)}"
        ts = r.get("avg_ts", 0.0)
        sd = r.get("stddev_ts", 0.0)
        out.append(f"| graphs {r.get('graphs', '?')} | {test} | {ts:.1f} ± {sd:.1f} |")
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d, tests = sys.argv[1], sys.argv[2]
    lines = ["# CUDA decode benchmark", ""]
    gpu = os.path.join(d, "gpu.txt")
    if os.path.exists(gpu):
        with open(gpu, encoding="utf-8") as f:
            lines += ["GPU: " + " / ".join(l.strip() for l in f.readlines()[1:] if l.strip()), ""]
    lines += [f"CUDA tests: {tests} (tests.log)", ""]
    lines += r1_table(read_jsonl(os.path.join(d, "r1_decode.jsonl"))) + [""]
    lines += llama_table(read_jsonl(os.path.join(d, "llamacpp.jsonl"))) + [""]
    t = os.path.join(d, "timings.txt")
    if os.path.exists(t):
        with open(t, encoding="utf-8") as f:
            lines.append("Phases (s): " + ", ".join(l.strip().replace(" ", " ") for l in f if l.strip()))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
