#!/usr/bin/env python3
"""r1-runner end to end with several slots: N greedy completions sent at once against the same
N sent one after the other, on one runner started with --parallel N.

    bench/engine/parallel_runner.py MODEL.gguf [-s 1,2,4] [-n 16] [-t 2] [--runner build/bin/r1-runner]

One after the other, each request has the runner to itself: the aggregate rate is that of one
slot. At once, the runner's inference loop evaluates all generating slots in one forward pass
per step. Reported per slot count, as JSON lines: generated tokens, wall seconds and runner CPU
seconds (utime + stime from /proc) of each way, tokens per wall and per CPU second, the ratios,
and whether both ways generated the same tokens (on the amx kernel path they may not: a prompt
read alone and the same prompt read in one pass with the others can land on different sides of
the AMX threshold, whose tiles round differently from the dot kernels; docs/dev/engine.md).
"""
import argparse
import json
import os
import subprocess
import threading
import time
import urllib.request


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=3600) as r:
        return json.loads(r.read())


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_runner(runner, model, slots, threads, ctx):
    p = subprocess.Popen([runner, "--model", model, "--parallel", str(slots), "--threads", str(threads),
                          "--ctx", str(ctx), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    port = None
    for line in p.stdout:
        if "listening on" in line:
            port = int(line.rsplit(":", 1)[1])
            break
    if port is None:
        raise SystemExit("r1-runner did not start")
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if json.loads(r.read()).get("status") == "ready":
                    return p, port
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("r1-runner did not become ready")


def measure(pid, port, bodies, at_once):
    results = [None] * len(bodies)
    w0, c0 = time.monotonic(), cpu_seconds(pid)
    if at_once:
        def one(i):
            results[i] = post(port, bodies[i])
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i, b in enumerate(bodies):
            results[i] = post(port, b)
    wall, cpu = time.monotonic() - w0, cpu_seconds(pid) - c0
    tokens = sum(r["timings"]["predicted_n"] for r in results)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "tokens": tokens, "tok_s": round(tokens / wall, 3),
            "tok_cpu_s": round(tokens / cpu, 3) if cpu > 0 else None}, [r["tokens"] for r in results]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("-s", default="1,2,4")
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("--runner", default="build/bin/r1-runner")
    a = ap.parse_args()
    for slots in [int(x) for x in a.s.split(",")]:
        p, port = start_runner(a.runner, a.model, slots, a.t, 256 + a.n)
        try:
            topic = " ".join(f"word{k}" for k in range(24))  # prompts of 30+ tokens: AMX alone too
            bodies = [{"prompt": f"Request {i}: write about the number {i * 7 + 3} and {topic}.", "n_predict": a.n,
                       "temperature": 0, "stream": False, "cache_prompt": False} for i in range(slots)]
            post(port, dict(bodies[0], n_predict=2))  # warm-up
            seq, seq_tokens = measure(p.pid, port, bodies, False)
            par, par_tokens = measure(p.pid, port, bodies, True)
            print(json.dumps({"slots": slots, "threads": a.t, "one_at_a_time": seq, "at_once": par,
                              "ratio_wall": round(seq["wall_s"] / par["wall_s"], 3),
                              "ratio_cpu": round(par["tok_cpu_s"] / seq["tok_cpu_s"], 3),
                              "same_tokens": seq_tokens == par_tokens}), flush=True)
        finally:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
