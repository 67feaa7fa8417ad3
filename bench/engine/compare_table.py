#!/usr/bin/env python3
"""Turns the JSON lines written by bench/engine/compare.sh into a markdown table.

stdin: lines {"model": m, "round": r} followed by that round's {"round", "load", "r1": {...}} and
{"round", "load", "llama": {...}} lines. argv: n_prompt n_gen threads [depth].
Ratios (r1 / llama.cpp) are computed within each round, then averaged over the rounds.
"""
import json
import statistics
import sys


def mean_sd(values):
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values, digits=2):
    m, s = mean_sd(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def main():
    n_prompt, n_gen, threads = sys.argv[1], sys.argv[2], sys.argv[3]
    depth = sys.argv[4] if len(sys.argv) > 4 else "0"
    pp_key, tg_key = f"pp{n_prompt}", f"tg{n_gen}"
    rounds = {}  # (model, round) -> {"r1": ..., "llama": ..., "load": [...]}
    order = []
    model = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        if "model" in rec:
            model = rec["model"]
            key = (model, rec["round"])
            rounds[key] = {"load": []}
            order.append(key)
            continue
        entry = rounds[(model, rec["round"])]
        entry["load"].append(rec["load"].split()[0])
        for engine in ("r1", "llama"):
            if engine in rec:
                entry[engine] = rec[engine]

    models = []
    for m, _ in order:
        if m not in models:
            models.append(m)
    at = f" at depth {depth} (the cache holds {depth} tokens when each test starts)" if depth != "0" else ""
    print(f"threads {threads}; pp{n_prompt} and tg{n_gen}{at} in tokens/s (wall), mean ± sd over rounds; "
          "ratio = r1 / llama.cpp within a round; per CPU-s = tokens per process CPU-second\n")
    print("| model | test | r1 t/s | llama.cpp t/s | ratio | ratio per CPU-s | roofline r1 / llama.cpp | "
          "read GB/s (best pass / p90 of slices) | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in models:
        keys = [k for k in order if k[0] == m and "r1" in rounds[k] and "llama" in rounds[k]]
        loads = sorted(float(x) for k in keys for x in rounds[k]["load"])
        load = f"{loads[0]:.1f}-{loads[-1]:.1f}" if loads else "?"
        name = m.rsplit("/", 1)[-1]
        for test in (pp_key, tg_key):
            r1v, llv, ratio, ratio_cpu, roof_r1, roof_ll, bw, bw_p90 = [], [], [], [], [], [], [], []
            for k in keys:
                a, b = rounds[k]["r1"].get(test), rounds[k]["llama"].get(test)
                if not a or not b:
                    continue
                r1v.append(a["tokens_per_s"])
                llv.append(b["tokens_per_s"])
                ratio.append(a["tokens_per_s"] / b["tokens_per_s"])
                ratio_cpu.append(a["tokens_per_cpu_s"] / b["tokens_per_cpu_s"])
                # The roofline's denominator: the fastest whole pass (see r1/kernels/bandwidth.h).
                read = rounds[k]["r1"].get("read_bandwidth_gbs", {})
                g = read.get("pass")
                per_tok = rounds[k]["r1"].get("weight_bytes_per_token")
                if g:
                    bw.append(g)
                if read.get("p90"):
                    bw_p90.append(read["p90"])
                # Deep in a context a token also reads the cache, which weight bytes do not count.
                if test == tg_key and g and per_tok and depth == "0":
                    roof_r1.append(100.0 * per_tok * a["tokens_per_s"] / (g * 1e9))
                    roof_ll.append(100.0 * per_tok * b["tokens_per_s"] / (g * 1e9))
            if not ratio:
                continue
            roof = f"{fmt(roof_r1, 1)} % / {fmt(roof_ll, 1)} %" if roof_r1 else "-"
            print(f"| {name} | {test} | {fmt(r1v)} | {fmt(llv)} | {fmt(ratio)} | {fmt(ratio_cpu)} | {roof} | "
                  f"{fmt(bw, 1)} / {fmt(bw_p90, 1)} | {load} |")


if __name__ == "__main__":
    main()
