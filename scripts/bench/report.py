"""The results page of the side-by-side benchmark: medians and ratios from one native run
(scripts/bench/native.py) and one browser run (scripts/bench/browser.mjs), as Markdown, plus a
PNG chart.

    python scripts/bench/report.py --native bench/results/native-DATE.json \\
        --browser bench/results/browser-DATE.json --out bench/results/DATE.md [--chart DATE.png]

The chart needs matplotlib (the bench-only venv has it); --no-chart skips it. Every ratio is
webslm over its peer measured in the same run: above 1 means webslm is faster (for tok/s) or,
for times, below 1 means webslm is faster.
"""
import argparse
import json
import os
import statistics

MIB = 1048576


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


class Native:
    """Medians of one engine's runs on one model: the same shape for webslm and llama.cpp."""

    def __init__(self, runs, prompt_lens):
        self.load = med(r["load_secs"] for r in runs)
        self.ttft = [med(r["ttft_secs"][i] for r in runs) for i in range(len(prompt_lens))]
        self.prefill = [None if t is None else n / t for n, t in zip(prompt_lens, self.ttft)]
        self.decode = med(r["decode_tok_s"] for r in runs)


def native_section(native):
    out = [f"## Native: webslm on lavapipe against llama.cpp on the CPU", "",
           f"{native['cpu']}, {native['cores']} cores, Linux {native['kernel']}. Medians of "
           f"{native['runs']} runs per engine, all in one run of `scripts/bench/native.py`. "
           "Prefill tok/s is the prompt length over the time to first token (prefill plus picking the "
           "first token); decode tok/s counts the tokens after the first over the time after the first.",
           ""]
    for m in native["models"]:
        w = m["webslm"]
        lens = w["prompt_lens"]
        ours = Native(w["runs"], lens)
        peers = [(f"llama.cpp {p['threads']}t", Native(p["runs"], p["prompt_lens"])) for p in m["llama_cpp"]]
        out += [f"### {m['name']}", "", f"webslm adapter: {w['adapter']}", ""]
        head = "| metric | webslm | " + " | ".join(n for n, _ in peers)
        head += " | " + " | ".join(f"webslm / {n}" for n, _ in peers) + " |"
        out += [head, "|" + "---|" * (2 + 2 * len(peers))]

        def row(label, get, digits=2, higher_better=True):
            vals = [get(ours)] + [get(p) for _, p in peers]
            rs = [ratio(vals[0], v) if higher_better else ratio(v, vals[0]) for v in vals[1:]]
            cells = [fmt(v, digits) for v in vals] + [fmt(r, 3) for r in rs]
            out.append(f"| {label} | " + " | ".join(cells) + " |")

        row("load (s)", lambda e: e.load, 2, higher_better=False)
        for i, n in enumerate(lens):
            row(f"time to first token, {n}-token prompt (s)", lambda e, i=i: e.ttft[i], 2, higher_better=False)
            row(f"prefill tok/s, {n} tokens", lambda e, i=i: e.prefill[i], 1)
        row(f"decode tok/s, {w['decode_tokens']} tokens", lambda e: e.decode, 2)
        out += ["", "Time ratios are peer time over webslm time, so above 1 always means webslm is faster.", ""]
        out += decode_cost(w)
    return out


def decode_cost(w):
    c = w["cost"]
    weights, kv_need = c["weight_bytes"], c["kv_bytes_needed"]
    read = c["weight_bytes_read"] + c["kv_bytes_read"]
    fetched_ratio = read / (weights + kv_need)
    # A KV row is fetched once per invocation that needs it: once per KV head when its query
    # heads fit one invocation, more often when they do not (head_dim 256). Counted once, the
    # bytes would be the weights read plus the KV needed.
    unique_ratio = (c["weight_bytes_read"] + kv_need) / (weights + kv_need)
    out = [f"Per decoded token at position {c['position']} (the end of the decode window; "
           f"{c['tokens']} tokens stepped alone):", "",
           "| | value |", "|---|---|",
           f"| dispatches | {c['dispatches']:.0f} |",
           f"| queue submits | {c['submits']:.0f} |",
           f"| model weight bytes (as stored) | {weights / MIB:.2f} MiB |",
           f"| KV bytes the token must read | {kv_need / MIB:.2f} MiB |",
           f"| weight bytes read | {c['weight_bytes_read'] / MIB:.2f} MiB |",
           f"| KV bytes fetched by the attention invocations | {c['kv_bytes_read'] / MIB:.2f} MiB |",
           f"| **bytes read / (weights + KV)**, every fetch counted | **{fetched_ratio:.3f}** (target <= 1.15) |",
           f"| the same, each KV row counted once | {unique_ratio:.3f} |",
           f"| CPU time recording the token | {c['record_secs'] * 1000:.1f} ms |",
           f"| submit to token (GPU work and readback) | {c['wait_secs'] * 1000:.1f} ms |",
           f"| GPU memory: peak / weights / KV cache | {w['gpu_peak_bytes'] / MIB:.1f} / "
           f"{w['weight_bytes'] / MIB:.1f} / {w['kv_cache_bytes'] / MIB:.1f} MiB |", ""]
    p = w.get("profile")
    if p:
        total = sum(k["ms_per_token"] for k in p["kernels"]) or 1.0
        out += [f"Kernel time per token, each dispatch submitted and timed alone ({p['tokens']} tokens; this "
                f"serialises the work and adds one submit, {p['empty_submit_ms']:.3f} ms, per dispatch, so it "
                f"ranks costs rather than adding up to the real step). A tiny dispatch batched with hundreds of "
                f"others costs {p['batched_tiny_dispatch_ms']:.3f} ms.", "",
                "| kernel | calls/token | ms/token | share |", "|---|---|---|---|"]
        out += [f"| {k['kernel']} | {k['calls_per_token']:.0f} | {k['ms_per_token']:.2f} | "
                f"{100 * k['ms_per_token'] / total:.0f}% |" for k in p["kernels"]]
        out.append("")
    return out


def engine_label(r):
    return r.get("engine", "?") + (f" {r['threads']}t" if r.get("threads") else "")


def is_embedding(r):
    return r.get("task") == "feature-extraction"


def browser_section(browser):
    out = ["## Browser: webslm against its peers in the same headless Chromium run", ""]
    info = {k: browser.get(k) for k in ("userAgent", "crossOriginIsolated", "hardwareConcurrency")}
    out += [f"Chromium: `{info['userAgent']}`; WebGPU adapter: `{json.dumps(browser.get('adapter'))}`; "
            f"cross-origin isolated: {info['crossOriginIsolated']}; hardwareConcurrency "
            f"{info['hardwareConcurrency']}. Config: `{json.dumps(browser.get('config'))}`.", ""]
    by_model = {}
    for r in browser.get("results", []):
        if not is_embedding(r):
            by_model.setdefault(r.get("model"), []).append(r)
    for model, rows in by_model.items():
        out += [f"### {model}", "", "| engine | cold load (s) | warm load (s) | time to first token (s) | "
                "prompt tokens | decode tok/s |", "|---|---|---|---|---|---|"]
        ours = next((r for r in rows if r.get("engine") == "webslm" and not r.get("error")), None)
        for r in rows:
            label = engine_label(r)
            if r.get("error") or r.get("skipped"):
                what = f"error: {r['error']}" if r.get("error") else f"skipped: {r['skipped']}"
                out.append(f"| {label} | {what} | | | | |")
                continue
            prompt = med(x.get("prompt_tokens") for x in r.get("runs", []))
            out.append(f"| {label} | {fmt(r.get('cold_load_s'))} | {fmt(r.get('warm_load_s'))} | "
                       f"{fmt(r.get('median_ttft_s'))} | {fmt(prompt, 0)} | {fmt(r.get('median_decode_tok_s'))} |")
        if ours:
            out += ["", "| webslm / peer | cold load | warm load | time to first token | decode tok/s |",
                    "|---|---|---|---|---|"]
            for r in rows:
                if r is ours or r.get("error") or r.get("skipped"):
                    continue
                cells = [ratio(r.get("cold_load_s"), ours.get("cold_load_s")),
                         ratio(r.get("warm_load_s"), ours.get("warm_load_s")),
                         ratio(r.get("median_ttft_s"), ours.get("median_ttft_s")),
                         ratio(ours.get("median_decode_tok_s"), r.get("median_decode_tok_s"))]
                out.append(f"| {engine_label(r)} | " + " | ".join(fmt(c, 3) for c in cells) + " |")
            out += ["", "Time ratios are peer time over webslm time; above 1 means webslm is faster.", ""]
    out += embedding_section(browser)
    return out


def embedding_section(browser):
    """MiniLM embeddings: webslm against transformers.js (www/bench.js defines every column)."""
    rows = [r for r in browser.get("results", []) if is_embedding(r)]
    note = browser.get("transformers_js")
    if not rows and not note:
        return []
    out = ["### MiniLM embeddings and transformers.js", ""]
    if note:
        out += [note, ""]
    if not rows:
        return out
    sizes = browser.get("config", {}).get("batchSizes") or [1, 8]

    def speed(r, size):
        return next((b.get("median_sentences_per_s") for b in r.get("batches", []) if b.get("batch_size") == size), None)

    for model in dict.fromkeys(r.get("model") for r in rows):
        mine = [r for r in rows if r.get("model") == model]
        n = next((r.get("sentences") for r in mine if r.get("sentences")), None)
        out += [f"{model}: {n} sentences per pass, medians over the passes; the first call at each batch size "
                "is a warm-up, timed apart.", "",
                "| engine | weights | cold load (s) | warm load (s) | "
                + " | ".join(f"sentences/s, batch {b}" for b in sizes)
                + " | warm-up call, batch " + " / ".join(str(b) for b in sizes) + " (s) | cosine vs webslm, mean / least |",
                "|" + "---|" * (6 + len(sizes))]
        for r in mine:
            if r.get("error") or r.get("skipped"):
                what = f"error: {r['error']}" if r.get("error") else f"skipped: {r['skipped']}"
                out.append(f"| {engine_label(r)} | {what} |" + " |" * (4 + len(sizes)))
                continue
            warmups = " / ".join(fmt(b.get("warmup_s")) for b in r.get("batches", []))
            agree = r.get("cosine_vs_webslm")
            cos = f"{agree['mean']:.4f} / {agree['min']:.4f}" if agree else "—"
            out.append(f"| {engine_label(r)} | {r.get('weights', '')} | {fmt(r.get('cold_load_s'))} | "
                       f"{fmt(r.get('warm_load_s'))} | " + " | ".join(fmt(speed(r, b)) for b in sizes)
                       + f" | {warmups} | {cos} |")
        ours = next((r for r in mine if r.get("engine") == "webslm" and not r.get("error") and not r.get("skipped")), None)
        peers = [r for r in mine if r is not ours and not r.get("error") and not r.get("skipped")]
        if ours and peers:
            out += ["", "| webslm / peer | cold load | warm load | " + " | ".join(f"sentences/s, batch {b}" for b in sizes) + " |",
                    "|" + "---|" * (3 + len(sizes))]
            for r in peers:
                cells = [ratio(r.get("cold_load_s"), ours.get("cold_load_s")),
                         ratio(r.get("warm_load_s"), ours.get("warm_load_s"))]
                cells += [ratio(speed(ours, b), speed(r, b)) for b in sizes]
                out.append(f"| {engine_label(r)} | " + " | ".join(fmt(c, 3) for c in cells) + " |")
            out += ["", "Sentences/s ratios are webslm over the peer, load ratios the peer's time over webslm's: "
                    "above 1 means webslm is faster.", ""]
        else:
            out.append("")
    return out


def chart(native, browser, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in (browser or {}).get("results", [])
            if not r.get("error") and not r.get("skipped") and not is_embedding(r)]
    fig, axes = plt.subplots(1, 2 if rows else 1, figsize=(12 if rows else 6.5, 4.5), squeeze=False)
    axes = axes[0]
    labels, series = [], {}
    for m in native["models"]:
        labels.append(m["name"])
        w = m["webslm"]
        engines = [("webslm (lavapipe)", w["runs"])] + [(f"llama.cpp {p['threads']}t", p["runs"]) for p in m["llama_cpp"]]
        for name, runs in engines:
            series.setdefault(name, []).append(Native(runs, w["prompt_lens"]).decode or 0)
    plot_bars(axes[0], labels, series, "Native decode tok/s (log scale)")
    if not rows:
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        return
    labels, series = [], {}
    for model in dict.fromkeys(r.get("model") for r in rows):
        labels.append(model)
        for r in rows:
            if r.get("model") == model:
                name = engine_label(r)
                series.setdefault(name, [0] * (len(labels) - 1)).append(r.get("median_decode_tok_s") or 0)
        for s in series.values():
            s += [0] * (len(labels) - len(s))
    plot_bars(axes[1], labels, series, "Headless Chromium decode tok/s (log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_bars(ax, labels, series, title):
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [j + i * width for j in range(len(labels))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, fmt="%.2g", fontsize=7)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(labels))], labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--native", required=True)
    ap.add_argument("--browser")
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart")
    ap.add_argument("--no-chart", action="store_true")
    a = ap.parse_args()
    with open(a.native) as f:
        native = json.load(f)
    browser = None
    if a.browser:
        with open(a.browser) as f:
            browser = json.load(f)
    lines = [f"# Benchmarks, {native['date']}", "",
             "Generated by `scripts/bench/report.py` from `" + os.path.basename(a.native) + "`"
             + (f" and `{os.path.basename(a.browser)}`" if a.browser else "") + ". Every ratio compares "
             "engines measured in the same run; absolute speeds on this shared 2-core machine move by "
             "±25% between runs.", ""]
    lines += native_section(native)
    if browser:
        lines += browser_section(browser)
    chart_path = a.chart or os.path.splitext(a.out)[0] + ".png"
    if not a.no_chart:
        chart(native, browser, chart_path)
        lines += [f"![decode speeds]({os.path.basename(chart_path)})", ""]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {a.out}" + ("" if a.no_chart else f" and {chart_path}"))


if __name__ == "__main__":
    main()
