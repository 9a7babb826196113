#!/usr/bin/env python3
"""Writes scripts/test-matrix.sh's report from its results.tsv and per-cell logs.

    test_matrix_report.py RESULTS.tsv OUT.md "suite ..." "config ..."

A cell is pass / FAIL (with the failing tests named) / not run; the model goldens' printed
numbers (tests/model_goldens.rs: teacher-forced argmax agreement and perplexity against the fp32
and llama.cpp references, on the default f16 KV cache) are tabulated per GGUF and config.
"""

import datetime
import re
import subprocess
import sys

RESULT = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")
FAILED = re.compile(r"^test (\S+) \.\.\. FAILED", re.M)
GOLDEN = re.compile(
    r"^(\w+): (\d+) passage tokens; argmax agreement ([\d.]+)% \(fp32\) ([\d.]+)% \(llama\.cpp\); "
    r"ppl ([\d.]+) vs ([\d.]+) \(fp32\) ([\d.]+) \(llama\.cpp\)",
    re.M,
)


def cell(status, secs, log):
    text = open(log, errors="replace").read()
    counts = [tuple(map(int, m)) for m in RESULT.findall(text)]
    passed = sum(c[0] for c in counts)
    failed = sum(c[1] for c in counts)
    if status == "pass":
        return f"pass ({passed}, {secs} s)", text
    names = ", ".join(FAILED.findall(text)) or "did not finish (see log)"
    return f"**FAIL** {failed}/{passed + failed}: {names} ({secs} s)", text


def main():
    results, out, suites, configs = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
    cells, goldens = {}, []
    for line in open(results):
        suite, config, status, secs, log = line.rstrip("\n").split("\t")
        cells[(suite, config)], text = cell(status, secs, log)
        if suite == "model_goldens":
            goldens += [(config, *m) for m in GOLDEN.findall(text)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    lines = [
        f"# Test matrix, {datetime.date.today()} (commit {commit}{' + uncommitted changes' if dirty.stdout.strip() else ''})",
        "",
        "Made by `scripts/test-matrix.sh` on lavapipe (Mesa, 2 shared CPU cores). Each cell is one",
        "`cargo test --release --test SUITE` with `WEBSLM_KERNELS=<path>` and `WEBSLM_DEVICE_VARIANT`",
        "(`no-subgroups`, `no-f16`, `split=` 4096 bytes for the kernel suites and tiny fixtures, 524288",
        "for real models), `CI=true` (a missing adapter fails), one test thread. `pass (N, T s)`: N tests",
        "passed in T seconds (a shared, loaded machine: times are only indicative). Tests that pick their",
        "own path or variant (kernels_matmul, kernels_ops, loop_limit) run those in every cell as well.",
        "",
        "| suite | " + " | ".join(configs) + " |",
        "|---|" + "---|" * len(configs),
    ]
    for s in suites:
        lines.append(f"| {s} | " + " | ".join(cells.get((s, c), "not run") for c in configs) + " |")
    lines += [
        "",
        "## The three GGUFs on the f16 KV cache (tests/model_goldens.rs)",
        "",
        "Teacher-forced argmax agreement over the committed passage and its perplexity, against the fp32",
        "(HF transformers) and llama.cpp references. Bounds in the test: fp32 agreement >= 99% and",
        "perplexity within 0.5%; llama.cpp agreement >= 90% and perplexity within 3%.",
        "",
        "| config | model | tokens | argmax vs fp32 | argmax vs llama.cpp | ppl | fp32 ppl | diff vs fp32 | llama.cpp ppl |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for config, name, n, a_hf, a_ll, ppl, ppl_hf, ppl_ll in goldens:
        diff = (float(ppl) / float(ppl_hf) - 1.0) * 100.0
        lines.append(
            f"| {config} | {name} | {n} | {a_hf}% | {a_ll}% | {ppl} | {ppl_hf} | {diff:+.3f}% | {ppl_ll} |"
        )
    if not goldens:
        lines.append("| (model_goldens not run yet) | | | | | | | | |")
    open(out, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
