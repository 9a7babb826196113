"""Sentences/s of sentence-transformers (all-MiniLM-L6-v2, CPU, fp32) as the peer for webslm's
embedding bench on the same machine and the same sentences (scripts/bench/sentences.json).

    /work/venv-hf/bin/python scripts/bench/sentence_transformers_speed.py \
        [--model models/all-minilm-l6-v2] [--threads 2] [--batch 1 32] [--seconds 3]

For each batch size: two warm-up rounds, then encode() the 64 sentences in chunks of that size,
round after round, for at least --seconds; sentences_per_s = sentences encoded / elapsed time (the
median and best round are printed too, as the machine may be shared). Prints one JSON line per
batch size: {"impl", "batch", "sentences_per_s", "threads", ...}.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ap = argparse.ArgumentParser()
ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-minilm-l6-v2"))
ap.add_argument("--sentences", default=os.path.join(ROOT, "scripts", "bench", "sentences.json"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, nargs="+", default=[1, 32])
ap.add_argument("--seconds", type=float, default=3.0)
a = ap.parse_args()

os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
import torch  # noqa: E402
import sentence_transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

torch.set_num_threads(a.threads)
threads = torch.get_num_threads()
print(f"torch threads: {threads} (interop {torch.get_num_interop_threads()})", file=sys.stderr)
sentences = json.load(open(a.sentences, encoding="utf-8"))["sentences"]
model = SentenceTransformer(a.model, device="cpu")
model.eval()

for b in a.batch:
    chunks = [sentences[i:i + b] for i in range(0, len(sentences), b)]

    def one_round():
        for c in chunks:
            model.encode(c, batch_size=b, normalize_embeddings=False, show_progress_bar=False)
        return len(sentences)

    with torch.inference_mode():
        one_round()                                   # warm-up (every shape once)
        one_round()
        rounds, t0 = [], time.perf_counter()
        while True:
            r0 = time.perf_counter()
            one_round()
            rounds.append(time.perf_counter() - r0)
            dt = time.perf_counter() - t0
            if dt >= a.seconds:
                break
    rounds.sort()
    n = len(sentences)
    print(json.dumps({"impl": "sentence-transformers", "batch": b,
                      "sentences_per_s": round(n * len(rounds) / dt, 2), "threads": threads,
                      "median_round_sentences_per_s": round(n / rounds[len(rounds) // 2], 2),
                      "best_round_sentences_per_s": round(n / rounds[0], 2),
                      "rounds": len(rounds), "seconds": round(dt, 3),
                      "torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__}),
          flush=True)
