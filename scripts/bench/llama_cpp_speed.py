"""Prefill and decode tok/s of llama.cpp (llama-cpp-python) on a GGUF, as the peer for
`webslm generate --json` on the same machine and file (issue 4's closing note).

    python scripts/bench/llama_cpp_speed.py MODEL.gguf "PROMPT" [--threads 1 2] [--tokens 32]

Greedy decoding; prefill = the prompt's tokens / time of one eval; decode = generated tokens after
the first / their time. Prints one JSON line per thread count.
"""
import argparse, json, time

import llama_cpp

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("prompt")
ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
ap.add_argument("--tokens", type=int, default=32)
a = ap.parse_args()
for t in a.threads:
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=1024, n_threads=t, n_threads_batch=t, n_batch=512, verbose=False)
    ids = llm.tokenize(a.prompt.encode(), add_bos=True, special=True)
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    nxt = int(llm.scores[llm.n_tokens - 1].argmax())
    for _ in range(a.tokens - 1):
        llm.eval([nxt])
        nxt = int(llm.scores[llm.n_tokens - 1].argmax())
    t2 = time.perf_counter()
    print(json.dumps({"threads": t, "prompt_tokens": len(ids), "prefill_tok_s": len(ids) / (t1 - t0),
                      "decode_tok_s": (a.tokens - 1) / (t2 - t1)}))
