#!/usr/bin/env python3
"""A random-weight llama.cpp GGUF LoRA adapter with a base GGUF's shapes, for `webslm bench --lora`.

Issue 19's done-when asks that loading an adapter onto a base of 1e6+ parameters add only the
adapter's bytes to GPU memory and that switching upload nothing. The PEFT fixtures
(scripts/lora/make_fixtures.py) need the base's HF weights, which we do not have for SmolLM2, so
this writes the adapter directly in the layout llama.cpp's convert_lora_to_gguf.py produces
(and src/lora/gguf.rs reads): general.type = adapter, adapter.type = lora, adapter.lora.alpha,
general.architecture = the base's, and per adapted tensor `<name>.lora_a` (numpy [r, k]) and
`<name>.lora_b` (numpy [n, r]). The values are seeded normals (A ~ N(0, 1/k), B ~ N(0, 1/r) * 0.1),
so the adapter changes the logits without wrecking the model; they measure memory and switching,
not quality.

Targets: every block's attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down (the
projections PEFT's usual all-linear LoRA adapts).

    /work/venv-quant/bin/python scripts/lora/make_random_gguf_adapter.py \\
        --base models/SmolLM2-135M-Instruct.Q4_1.gguf --rank 8 --out /tmp/smollm2-lora-r8.gguf
    target/release/webslm bench --model models/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --lora /tmp/smollm2-lora-r8.gguf --runs 1 --prompts 16 --decode 4 --json -
"""

import argparse
import re

import gguf
import numpy as np

TARGETS = re.compile(r"^blk\.\d+\.(attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the base model's .gguf")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16.0)
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()

    base = gguf.GGUFReader(args.base)
    arch = bytes(base.fields["general.architecture"].parts[-1]).decode()
    rng = np.random.default_rng(args.seed)
    dtype = np.float32 if args.dtype == "f32" else np.float16
    w = gguf.GGUFWriter(args.out, arch)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", args.alpha)
    r = args.rank
    params = 0
    for t in base.tensors:
        if not TARGETS.match(t.name):
            continue
        # ggml lists dims innermost first: a [n, k] projection (out x in) is (k, n).
        k, n = int(t.shape[0]), int(t.shape[1])
        a = (rng.standard_normal((r, k)) / np.sqrt(k)).astype(dtype)
        b = (rng.standard_normal((n, r)) / np.sqrt(r) * 0.1).astype(dtype)
        w.add_tensor(f"{t.name}.lora_a", a)
        w.add_tensor(f"{t.name}.lora_b", b)
        params += a.size + b.size
    if params == 0:
        raise SystemExit(f"{args.base}: no attn_q/k/v/output or ffn_gate/up/down tensors to adapt")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{args.out}: {arch}, rank {r}, {params} parameters ({params * np.dtype(dtype).itemsize} bytes of {args.dtype})")


if __name__ == "__main__":
    main()
