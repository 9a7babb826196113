"""The native side of the side-by-side benchmark: `webslm bench` on each model, then llama.cpp
(llama-cpp-python, CPU, 1 and 2 threads) on the same GGUF and the same prompt ids, in one run so
the ratios mean something on a shared, noisy machine.

    python3 scripts/bench/native.py --llama-python /work/venv-ref/bin/python \\
        [--models smollm2,gemma3] [--runs 5] [--out bench/results/native-DATE.json]
    python3 scripts/bench/native.py --smoke     # CI: one short webslm run, no peer

Plain python3 (no packages); llama-cpp-python lives in its own bench-only venv, named by
--llama-python. scripts/bench/report.py turns the JSON into the results table and chart.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = {
    "smollm2": ("SmolLM2-135M-Instruct Q4_1", "models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3": ("Gemma 3 270M Q4_K_M", "models/gemma-3-270m-q4_k_m.gguf"),
    "qwen2.5": ("Qwen2.5-Coder-0.5B-Instruct Q4_K_M", "models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def check(webslm):
    """Fails on results no working bench could give (the CI smoke run relies on this)."""
    cost = webslm["cost"]
    problems = [what for what, bad in [
        ("no decode speed", not all(r["decode_tok_s"] > 0 for r in webslm["runs"])),
        ("no time to first token", not all(t > 0 for r in webslm["runs"] for t in r["ttft_secs"])),
        ("no dispatches counted", cost["dispatches"] < 1),
        ("no weight bytes read", cost["weight_bytes_read"] < cost["weight_bytes"] * 0.5),
        ("no GPU memory counted", webslm["gpu_peak_bytes"] < webslm["weight_bytes"]),
    ] if bad]
    if problems:
        sys.exit(f"webslm bench gave impossible results: {', '.join(problems)}")


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="smollm2,gemma3")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prompts", default="128,512")
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--profile", type=int, default=4, help="tokens decoded with per-kernel timing")
    ap.add_argument("--llama-python", help="python of a venv with llama-cpp-python; omit to skip the peer")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--webslm", default=os.path.join(ROOT, "target", "release", "webslm"))
    ap.add_argument("--out")
    ap.add_argument("--smoke", action="store_true", help="one short run of the first model, no peer")
    a = ap.parse_args()
    if a.smoke:
        a.models, a.runs, a.prompts, a.decode, a.profile, a.llama_python = "smollm2", 1, "8,16", 4, 1, None
    date = datetime.date.today().isoformat()
    out = a.out or os.path.join(ROOT, "bench", "results", f"native-{date}.json")
    env = {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}
    report = {"date": date, "cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
              "runs": a.runs, "models": []}
    for key in a.models.split(","):
        if key not in MODELS:
            sys.exit(f"unknown model {key!r}; known: {', '.join(MODELS)}")
        name, path = MODELS[key]
        with tempfile.TemporaryDirectory() as tmp:
            bench_json = os.path.join(tmp, "webslm.json")
            run([a.webslm, "bench", "--model", path, "--runs", str(a.runs), "--prompts", a.prompts,
                 "--decode", str(a.decode), "--profile", str(a.profile), "--json", bench_json], env=env)
            with open(bench_json) as f:
                webslm = json.load(f)
            peers = []
            if a.llama_python:
                proc = run([a.llama_python, "scripts/bench/llama_cpp_speed.py", "--bench-json", bench_json,
                            "--runs", str(a.runs), "--threads", *map(str, a.threads)],
                           env=env, stdout=subprocess.PIPE, text=True)
                peers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        check(webslm)
        report["models"].append({"id": key, "name": name, "path": path, "webslm": webslm, "llama_cpp": peers})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
