"""llama.cpp (llama-cpp-python, CPU) as the native peer of `webslm bench`: the same GGUF, the very
same prompt ids, and the same measurements, so scripts/bench/native.py can report ratios.

    python scripts/bench/llama_cpp_speed.py --bench-json WEBSLM.json [--threads 1 2] [--runs 5]

WEBSLM.json is what `webslm bench --json` wrote: the model path, the prompts (ids) and the decode
length are taken from it. For each thread count and run:
- load: constructing `Llama` (llama.cpp maps the file; pages are read on first use, so a cold
  page cache shows up in the first prefill rather than here);
- time to first token per prompt: a fresh KV cache, `eval(prompt)`, then the argmax of the last
  logits (what webslm's TTFT covers: prefill plus picking the first token);
- decode after the first prompt: greedy, end-of-text ignored, one `eval` per token; tokens after
  the first over the time after the first, as webslm counts.
Prints one JSON object per thread count (runs inside). Needs llama-cpp-python (bench-only venv,
never CI).
"""
import argparse
import json
import time

import llama_cpp
import numpy as np


def greedy(llm):
    return int(np.argmax(llm.scores[llm.n_tokens - 1]))


def one_run(model, prompts, decode_tokens, threads, n_ctx):
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                          n_batch=512, verbose=False)
    load = time.perf_counter() - t0
    ttft, decode_tok_s = [], None
    for i, ids in enumerate(prompts):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids)
        token = greedy(llm)
        ttft.append(time.perf_counter() - t0)
        if i == 0 and decode_tokens > 1:
            t1 = time.perf_counter()
            for _ in range(decode_tokens - 1):
                llm.eval([token])
                token = greedy(llm)
            decode_tok_s = (decode_tokens - 1) / (time.perf_counter() - t1)
    llm.close()
    return {"load_secs": load, "ttft_secs": ttft, "decode_tok_s": decode_tok_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-json", required=True, help="webslm bench --json output")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with open(a.bench_json) as f:
        bench = json.load(f)
    prompts = bench["prompts"]
    n_ctx = max(max(len(p) for p in prompts), len(prompts[0]) + bench["decode_tokens"]) + 16
    for t in a.threads:
        runs = [one_run(bench["model"], prompts, bench["decode_tokens"], t, n_ctx) for _ in range(a.runs)]
        print(json.dumps({"engine": "llama.cpp", "version": llama_cpp.__version__, "threads": t,
                          "prompt_lens": [len(p) for p in prompts], "decode_tokens": bench["decode_tokens"],
                          "runs": runs}), flush=True)


if __name__ == "__main__":
    main()
