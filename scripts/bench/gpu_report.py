"""The markdown report of scripts/bench/gpu.sh: one table of `webslm bench` per GGUF and kernel
path (measured speed next to the per-token counters and the modelled tok/s, labelled as such),
then the browser bench's rows per kernel path.

    python3 scripts/bench/gpu_report.py --raw bench/results/gpu-DATE --adapter NAME --smoke 0 \\
        --command "scripts/bench/gpu.sh ..." > bench/results/gpu-DATE.md
"""

import argparse
import glob
import json
import os


def fmt(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def native_rows(raw):
    head = ["model", "kernels", "decode tok/s", "prefill tok/s", "dispatches", "passes", "queue writes",
            "min GEMV inv.", "small-dispatch share", "max serial loads", "private B", "KV MiB/token",
            "model tok/s 100 GB/s", "model tok/s 500 GB/s"]
    rows = []
    for path in sorted(glob.glob(os.path.join(raw, "native-*.json"))):
        with open(path) as f:
            r = json.load(f)
        t, m = r["per_token"], r["model_tok_s"]
        ttft = median(run["ttft_secs"][0] for run in r["runs"])
        rows.append([
            os.path.basename(r["model"]), r["kernels"], fmt(median(run["decode_tok_s"] for run in r["runs"])),
            fmt(r["prompt_lens"][0] / ttft if ttft else None), fmt(t["dispatches"], 0), fmt(t["compute_passes"], 0),
            fmt(t["queue_writes"], 0), fmt(t["min_gemv_invocations"]), fmt(t["small_dispatch_weight_share"], 3),
            fmt(t["max_serial_weight_loads"]), fmt(t["private_array_bytes"]), fmt(t["kv_bytes_per_token"] / 2**20, 2),
            fmt(m["integrated_100gbps"], 0), fmt(m["discrete_500gbps"], 0),
        ])
    return head, rows


def browser_rows(raw):
    head = ["kernels asked", "kernels run", "model", "adapter", "cold load s", "TTFT s", "decode tok/s"]
    rows = []
    for path in sorted(glob.glob(os.path.join(raw, "browser-*.json"))):
        with open(path) as f:
            r = json.load(f)
        adapter = r.get("adapter") or {}
        name = f"{adapter.get('vendor', '?')} {adapter.get('architecture', '?')}"
        for row in r["results"]:
            if row.get("engine") != "webslm":
                continue
            if row.get("error") or row.get("skipped"):
                rows.append([r["config"].get("kernels", "auto"), "–", row["model"], name, "–", "–",
                             f"{'ERROR' if row.get('error') else 'skipped'}: {row.get('error') or row.get('skipped')}"])
                continue
            rows.append([r["config"].get("kernels", "auto"), (row.get("kernels") or {}).get("path", "?"), row["model"],
                         name, fmt(row.get("cold_load_s"), 2), fmt(row.get("median_ttft_s"), 3),
                         fmt(row.get("median_decode_tok_s"), 1)])
    return head, rows


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--raw", required=True)
    a.add_argument("--adapter", required=True)
    a.add_argument("--smoke", default="0")
    a.add_argument("--command", default="scripts/bench/gpu.sh")
    a = a.parse_args()
    lines = [f"# webslm on a real GPU: both kernel paths ({os.path.basename(a.raw).removeprefix('gpu-')})", ""]
    if a.smoke == "1":
        lines += ["**SMOKE TEST on a software adapter (--allow-software): these numbers are not a result.**", ""]
    lines += [f"Adapter: `{a.adapter}`. Command: `{a.command}`. Raw JSON: `{a.raw}/`.", "",
              "## Native (`webslm bench --kernels software|gpu`)", "",
              "Decode and prefill are measured (medians over runs). The counters are per decoded token; "
              "`model tok/s` columns are **a model, not a measurement** (src/bench/gpu_model.rs: bytes / "
              "bandwidth + serial load chains x latency + per-dispatch and per-pass costs).", ""]
    head, rows = native_rows(a.raw)
    lines += table(head, rows) if rows else ["(no native results)"]
    head, rows = browser_rows(a.raw)
    lines += ["", "## Browser (`scripts/bench/browser.mjs --real-gpu --kernels ...`, Chromium)", ""]
    lines += table(head, rows) if rows else ["(browser bench not run)"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
