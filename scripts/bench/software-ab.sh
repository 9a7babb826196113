#!/usr/bin/env bash
# Is the software kernel path (what lavapipe and SwiftShader run) slower than before issue 16?
# Builds `webslm` at BASE (default 51d005d, main just before issue 16's first commit 42e71a3) in a
# target dir of its own, builds this checkout, then runs `webslm bench` alternately with each
# (ABBA order per round, so drift and other jobs on the machine hit both alike) and writes
# bench/results/software-ab-<date>.md with the medians and new/old ratios.
#
#   scripts/bench/software-ab.sh [--base REV] [--rounds N] [--prompt N] [--decode N] [--models a,b]
#
# Both binaries run on the adapter's own path (software on lavapipe) with their default KV cache:
# f32 before issue 16, f16 after, as users get them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

base=51d005d rounds=3 prompt=128 decode=32
models=(models/SmolLM2-135M-Instruct.Q4_1.gguf models/gemma-3-270m-q4_k_m.gguf)
while (($#)); do
    case "$1" in
    --base) base="$2" && shift 2 ;;
    --rounds) rounds="$2" && shift 2 ;;
    --prompt) prompt="$2" && shift 2 ;;
    --decode) decode="$2" && shift 2 ;;
    --models) IFS=, read -r -a models <<<"$2" && shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
    esac
done

work="${AB_WORK:-/tmp/webslm-ab}"
base_src="${AB_BASE_SRC:-$work/src-$base}" base_target="${AB_BASE_TARGET:-$work/target}"
if [[ ! -d "$base_src" ]]; then
    mkdir -p "$base_src"
    git archive "$base" | tar -x -C "$base_src"
fi
echo "==> building $base in $base_target"
(cd "$base_src" && CARGO_TARGET_DIR="$base_target" nice cargo build --release --quiet --bin webslm)
# AB_NEW_BIN: an already built binary of this checkout (`cargo build` resolves dependency features
# without the dev-dependencies, so after `cargo test` it rebuilds naga and more: many minutes here).
new="${AB_NEW_BIN:-target/release/webslm}"
if [[ -z "${AB_NEW_BIN:-}" ]]; then
    echo "==> building this checkout"
    nice cargo build --release --quiet --bin webslm
fi
old="$base_target/release/webslm"
runs="$work/runs"
rm -rf "$runs" && mkdir -p "$runs"

bench() { # bin label model round
    local json="$runs/$(basename "$3" .gguf).$2.$4.json"
    echo "==> round $4: $2 on $(basename "$3")"
    "$1" bench --model "$3" --runs 1 --prompts "$prompt" --decode "$decode" --cost-tokens 2 --json "$json" >/dev/null
}
for ((r = 1; r <= rounds; r++)); do
    for m in "${models[@]}"; do
        if ((r % 2)); then
            bench "$old" old "$m" "$r" && bench "$new" new "$m" "$r"
        else
            bench "$new" new "$m" "$r" && bench "$old" old "$m" "$r"
        fi
    done
done

out="bench/results/software-ab-$(date -u +%Y-%m-%d).md"
python3 - "$runs" "$out" "$base" "$(git rev-parse --short HEAD)" <<'EOF'
import glob, json, os, statistics, sys
runs, out, base, head = sys.argv[1:]
rows = {}
for f in sorted(glob.glob(f"{runs}/*.json")):
    model, label, rnd = os.path.basename(f).rsplit(".", 3)[:3]
    r = json.load(open(f))
    run = r["runs"][0]
    prefill = r["prompt_lens"][0] / run["ttft_secs"][0]
    rows.setdefault(model, {}).setdefault(label, []).append((int(rnd), prefill, run["decode_tok_s"]))
lines = [
    f"# Software path A/B: {base} (before issue 16) vs {head}",
    "",
    "`scripts/bench/software-ab.sh` on lavapipe, the two binaries alternated in ABBA order within the",
    "same run; each sample is `webslm bench --runs 1 --prompts P --decode D --cost-tokens 2` (prefill:",
    "P prompt tokens / time to first token; decode: tokens after the first per second). Both on the",
    "adapter's own (software) path with their default KV cache (f32 before, f16 after). The machine",
    "is shared (2 cores, other jobs running): compare within a round, not across reports.",
    "",
    "| model | metric | old samples | new samples | old median | new median | new/old |",
    "|---|---|---|---|---|---|---|",
]
for model, by in rows.items():
    for i, metric in ((1, "prefill tok/s"), (2, "decode tok/s")):
        old = [s[i] for s in sorted(by.get("old", []))]
        new = [s[i] for s in sorted(by.get("new", []))]
        if not old or not new:
            continue
        mo, mn = statistics.median(old), statistics.median(new)
        fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
        lines.append(f"| {model} | {metric} | {fmt(old)} | {fmt(new)} | {mo:.2f} | {mn:.2f} | {mn / mo:.2f} |")
open(out, "w").write("\n".join(lines) + "\n")
print(open(out).read())
EOF
