#!/usr/bin/env python3
"""Writes scripts/bench/software-ab.sh's report from its runs' `webslm bench --json` files.

    software_ab_report.py RUNS_DIR OUT.md BASE HEAD "ROUNDS PROMPT DECODE LOADAVG..."

Files are named MODEL.ARM.ROUND.json (ARM: old, new, newf32). On a shared machine a median of a
few samples moves with whatever else runs, so besides the ratio of medians the report gives the
ratio within each round (the arms of one round ran back to back) and its spread.
"""

import glob
import json
import os
import statistics
import sys

ARMS = {
    "old": "base (f32 KV)",
    "new": "this checkout (f16 KV, default)",
    "newf32": "this checkout, `--kv f32`",
}


def load(runs):
    """{model: {arm: {round: report}}}"""
    out = {}
    for f in sorted(glob.glob(f"{runs}/*.json")):
        model, arm, rnd = os.path.basename(f).rsplit(".", 3)[:3]
        out.setdefault(model, {}).setdefault(arm, {})[int(rnd)] = json.load(open(f))
    return out


def prefill(r):
    return r["prompt_lens"][0] / r["runs"][0]["ttft_secs"][0]


def decode(r):
    return r["runs"][0]["decode_tok_s"]


def fmt(xs, digits=2):
    return ", ".join(f"{x:.{digits}f}" for x in xs)


def speed_rows(model, by):
    """Each arm against the reference: the base build, or without one (--no-base) this checkout's
    default arm."""
    rows = []
    ref = "old" if "old" in by else "new"
    old = by.get(ref, {})
    for metric, get in (("prefill tok/s", prefill), ("decode tok/s", decode)):
        for arm in [a for a in ("new", "newf32") if a != ref]:
            cur = by.get(arm, {})
            rounds = sorted(set(old) & set(cur))
            if not rounds:
                continue
            o = [get(old[r]) for r in rounds]
            n = [get(cur[r]) for r in rounds]
            per_round = [b / a for a, b in zip(o, n)]
            mo, mn = statistics.median(o), statistics.median(n)
            rows.append(
                f"| {model} | {metric} | {arm} | {fmt(o)} | {fmt(n)} | {mn / mo:.2f} | "
                f"{statistics.median(per_round):.2f} ({min(per_round):.2f}-{max(per_round):.2f}) |"
            )
    return rows


def cost_rows(model, by):
    rows = []
    for arm in ("old", "new", "newf32"):
        reps = list(by.get(arm, {}).values())
        if not reps:
            continue
        c = [r["cost"] for r in reps]
        med = lambda key: statistics.median(x[key] for x in c)
        rows.append(
            f"| {model} | {arm} | {med('dispatches'):.0f} | {med('submits'):.0f} | "
            f"{med('kv_bytes_read') / 1e6:.2f} | {med('weight_bytes_read') / 1e6:.1f} | "
            f"{med('record_secs') * 1e3:.1f} | {med('wait_secs') * 1e3:.0f} |"
        )
    return rows


def profile_rows(model, by, top=12):
    """Per kernel, the median ms per decoded token and calls per token of each arm."""
    table = {}
    for arm, reps in by.items():
        for r in reps.values():
            for k in (r.get("profile") or {}).get("kernels", []):
                e = table.setdefault(k["kernel"], {}).setdefault(arm, {"ms": [], "calls": []})
                e["ms"].append(k["ms_per_token"])
                e["calls"].append(k["calls_per_token"])
    if not table:
        return []
    med = lambda arm, k, what: statistics.median(table[k][arm][what]) if arm in table[k] else None
    order = sorted(table, key=lambda k: -max(med(a, k, "ms") or 0 for a in table[k]))
    rows = []
    for k in order[:top]:
        cells = []
        for arm in ("old", "new", "newf32"):
            ms, calls = med(arm, k, "ms"), med(arm, k, "calls")
            cells.append("-" if ms is None else f"{ms:.2f} ({calls:.0f})")
        rows.append(f"| {model} | {k} | " + " | ".join(cells) + " |")
    return rows


def header(*columns):
    """A markdown table's head."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def main():
    runs, out, base, head, params = sys.argv[1:6]
    rounds, prompt, decode_n, *load_avg = params.split()
    data = load(runs)
    arms = sorted({a for by in data.values() for a in by}, key=list(ARMS).index)
    lines = [
        f"# Software path A/B: {base} (before issue 16) vs {head}"
        if "old" in arms
        else f"# Software path A/B: the KV cache in f16 (default) vs f32, both at {head}",
        "",
        "`scripts/bench/software-ab.sh` on lavapipe: the binaries alternated within each round (ABBA),",
        f"{rounds} rounds; each sample is `webslm bench --runs 1 --prompts {prompt} --decode {decode_n}",
        "--cost-tokens 2` (prefill: prompt tokens / time to first token; decode: tokens after the first",
        "per second), on the adapter's own (software) path. Arms: "
        + "; ".join(f"`{a}` {ARMS[a]}" for a in arms)
        + ".",
        f"Load average when the runs ended: {' '.join(load_avg)} (2 shared cores: compare within a",
        "round; `per round` is the median and range of arm/ref over the rounds). The reference (ref) is",
        "`old`, or `new` where the base was not run.",
        "",
        *header("model", "metric", "arm", "ref samples", "arm samples", "arm/ref (medians)", "per round"),
    ]
    for model, by in data.items():
        lines += speed_rows(model, by)
    lines += [
        "",
        "Per decoded token (`cost`, medians over rounds: exact counts, then the host's time recording a",
        "token and its wait from submit to result, medians of the 2 measured tokens, which move with load):",
        "",
        *header("model", "arm", "dispatches", "submits", "KV MB read", "weight MB read", "record ms", "wait ms"),
    ]
    for model, by in data.items():
        lines += cost_rows(model, by)
    prof = [row for model, by in data.items() for row in profile_rows(model, by)]
    if prof:
        lines += [
            "",
            "Per kernel (`--profile`: each dispatch submitted and timed alone, so the times include a",
            "submit each; medians over rounds), ms per decoded token (calls per token), slowest first:",
            "",
            *header("model", "kernel", "old", "new", "newf32"),
        ] + prof
    open(out, "w").write("\n".join(lines) + "\n")
    print(open(out).read())


if __name__ == "__main__":
    main()
