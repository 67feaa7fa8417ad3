#!/usr/bin/env python3
"""A stand-in for r1-runner speaking the runner protocol, for scheduler tests.

It takes r1-runner's flags and reads its behaviour from the --model file (JSON):
  load_ms         time /health says "loading" (default 0)
  tokens          tokens per completion (default 5)
  token_delay_ms  delay between streamed chunks (default 0)
  fail_load       /health reports "error" (default false)
  exit_on_start   exit code to die with before listening (default none)
  vram_bytes      bytes /info reports on GPU --main-gpu (default 0: a CPU runner); the
                  device's name echoes the flags: "ngl=<--n-gpu-layers> limit=<--gpu-memory-limit>"
It prints "listening on 127.0.0.1:PORT" once bound, like the real runner.
"""
import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--model", action="append", default=[])
ap.add_argument("--ctx", type=int, default=4096)
ap.add_argument("--parallel", type=int, default=1)
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--kv-type", default="f16")
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--n-gpu-layers", type=int, default=-1)
ap.add_argument("--main-gpu", type=int, default=-1)
ap.add_argument("--gpu-memory-limit", type=int, default=0)
ap.add_argument("--no-gpu", action="store_true")
args = ap.parse_args()
try:
    with open(args.model[0]) as f:
        behaviour = json.load(f)
except (ValueError, UnicodeDecodeError):
    behaviour = {}  # a real GGUF: default behaviour
if "exit_on_start" in behaviour:
    print("stub runner: failing on purpose", file=sys.stderr, flush=True)
    sys.exit(behaviour["exit_on_start"])
started = time.monotonic()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, obj, code=200):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        loading = (time.monotonic() - started) * 1000 < behaviour.get("load_ms", 0)
        if self.path == "/health":
            if behaviour.get("fail_load"):
                return self.reply({"status": "error", "progress": 0, "error": "bad weights"})
            return self.reply({"status": "loading" if loading else "ready", "progress": 0.5 if loading else 1})
        if self.path == "/info":
            info = {"architecture": "stub", "n_ctx": args.ctx, "n_parallel": args.parallel,
                    "weights_bytes": behaviour.get("weights_bytes", 1000), "kv_bytes": 0}
            vram = behaviour.get("vram_bytes", 0)
            if vram:
                layers = behaviour.get("n_layer", 2)
                name = "ngl=%d limit=%d" % (args.n_gpu_layers, args.gpu_memory_limit)
                on_gpu = args.n_gpu_layers if args.n_gpu_layers >= 0 else layers
                info.update({"backend": "cuda", "vram_bytes": vram, "n_layer": layers, "n_gpu_layers": on_gpu,
                             "devices": [{"backend": "cuda", "index": max(args.main_gpu, 0), "name": name,
                                          "first_layer": 0, "n_layers": on_gpu, "output": on_gpu == layers,
                                          "bytes": vram}]})
            return self.reply(info)
        self.reply({"error": "no route", "code": "not_found"}, 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n) or b"{}")
        if self.path != "/completion":
            return self.reply({"error": "unsupported", "code": "invalid_argument"}, 400)
        count = behaviour.get("tokens", 5)
        if req.get("n_predict", -1) >= 0:
            count = min(count, req["n_predict"])
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(obj):
            data = (json.dumps(obj) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            for i in range(count):
                time.sleep(behaviour.get("token_delay_ms", 0) / 1000)
                chunk({"content": "t%d " % i, "tokens": [i], "done": False})
            chunk({"content": "", "done": True, "stop_reason": "length" if count else "stop",
                   "timings": {"prompt_n": 3, "predicted_n": count, "prompt_tokens": 3}})
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print("listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
print("stub runner pid ready", file=sys.stderr, flush=True)
server.serve_forever()
