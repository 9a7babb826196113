#!/usr/bin/env python3
"""Tiny LoRA adapters (PEFT) on the tiny decoder fixtures, converted to GGUF with llama.cpp's
convert_lora_to_gguf.py, with transformers goldens, for tests/lora.rs.

Output, per adapter, under tests/fixtures/lora/<name>/:
    peft/adapter_config.json, peft/adapter_model.safetensors   (PEFT save_pretrained)
    adapter-f32.gguf, adapter-f16.gguf                           (convert_lora_to_gguf.py)
    golden.json: base fixture, prompt ids (the base golden's first two prompts), the base
        model's logits and the merged model's (PeftModel.merge_and_unload()) at every position.

Gemma 3 has no tiny decoder fixture of its own, so this script makes one first (make_gemma3_base):
tests/fixtures/decoders/tiny-gemma3/ holds a random Gemma3ForCausalLM (2 layers, both sliding-window
as Gemma 3's 5-local-per-global pattern makes them, window 4 so the prompts cross it,
query_pre_attn_scalar = head_dim as llama.cpp assumes), tiny-gemma's SentencePiece tokenizer, its
F32 GGUF (convert_hf_to_gguf.py) and a golden.json with tiny-gemma's first two prompts' ids (the
logits of base and merged model are in the adapter's golden.json).

Adapters: PEFT initialises B to zero (an adapter that changes nothing, so a test could not
fail); here every A and B is redrawn from a seeded normal, scaled so the adapter moves the logits
by about as much as they spread. Targets: every projection of the block (q, k, v, o, gate, up,
down), plus lm_head where the base has its own (tiny-llama3, not tied); one adapter uses rsLoRA
(scale alpha / sqrt(r)) and one rank 4, the rest rank 8.

The converter ignores use_rslora (see convert()); Gemma 2's GGUF copies are compared with the
merged model at llama.cpp's attention scale (logits_llamacpp_scale, as the base fixture's golden).

How to run (from the repository root; seconds on 2 cores):
 1. A venv with torch (CPU use), transformers, peft, safetensors, numpy (here /work/venv-peft:
    pip install torch transformers peft safetensors gguf numpy sentencepiece).
 2. llama.cpp's converter from the llama-cpp-python 0.3.36 sdist (as
    scripts/fixtures/make_decoder_fixtures.py), with convert_lora_to_gguf.py next to
    convert_hf_to_gguf.py, conversion/ and gguf-py/ in --convert-dir:
        V=llama_cpp_python-0.3.36/vendor/llama.cpp
        tar xzf llama_cpp_python-0.3.36.tar.gz --wildcards "$V/convert_hf_to_gguf.py" \
            "$V/convert_lora_to_gguf.py" "$V/conversion/*" "$V/gguf-py/*"
 3. /work/venv-peft/bin/python scripts/lora/make_fixtures.py --convert-dir /work/llama-convert-lora

The converter runs as a subprocess with PYTHONPATH=<convert-dir>/gguf-py first, so it and its gguf
package match.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DECODERS = os.path.join(ROOT, "tests", "fixtures", "decoders")
OUT = os.path.join(ROOT, "tests", "fixtures", "lora")

BLOCK = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# name, base fixture, seed, r, alpha, rslora, extra targets
ADAPTERS = [
    ("llama3-a", "tiny-llama3", 11, 8, 16, False, ["lm_head"]),
    ("llama3-b", "tiny-llama3", 12, 4, 8, False, []),
    ("qwen2-rs", "tiny-qwen2", 13, 8, 8, True, []),
    ("gemma", "tiny-gemma", 14, 8, 16, False, []),
    ("gemma2", "tiny-gemma2", 15, 8, 16, False, []),
    ("gemma3", "tiny-gemma3", 16, 8, 16, False, []),
]


def make_gemma3_base(convert_dir):
    """tests/fixtures/decoders/tiny-gemma3: random weights drawn as the other tiny decoders'
    (matrices N(0, 1/fan_in), norms at their identity w = 0 (scale 1 + w) +- 0.2, embeddings std
    0.5), so the logits spread by a few units."""
    import numpy as np
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig
    out = os.path.join(DECODERS, "tiny-gemma3")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(DECODERS, "tiny-gemma")
    for fn in ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(os.path.join(src, fn), os.path.join(out, fn))
    cfg = Gemma3TextConfig(vocab_size=448, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                           query_pre_attn_scalar=16, sliding_window=4, max_position_embeddings=128,
                           rms_norm_eps=1e-6, final_logit_softcapping=None, attn_logit_softcapping=None,
                           tie_word_embeddings=True, bos_token_id=2, eos_token_id=1, pad_token_id=0)
    cfg.architectures = ["Gemma3ForCausalLM"]
    torch.manual_seed(31)
    model = Gemma3ForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_((torch.rand_like(p) - 0.5) * 0.4)
            elif "embed_tokens" in name:
                p.copy_(torch.randn_like(p) * 0.5)
            else:
                p.copy_(torch.randn_like(p) / np.sqrt(p.shape[1]))
    model.save_pretrained(out, safe_serialization=True)
    os.remove(os.path.join(out, "generation_config.json"))  # the other tiny decoders have none
    prompts = json.load(open(os.path.join(src, "golden.json")))["prompts"][:2]
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump({"made_by": "scripts/lora/make_fixtures.py (make_gemma3_base)", "versions": versions(),
                   "note": "the base and merged logits are in tests/fixtures/lora/gemma3/golden.json",
                   "prompts": [{"text": p.get("text"), "ids": p["ids"]} for p in prompts]}, f, indent=1)
        f.write("\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(convert_dir, "gguf-py") + os.pathsep + convert_dir)
    cmd = [sys.executable, os.path.join(convert_dir, "convert_hf_to_gguf.py"), out, "--outtype", "f32",
           "--outfile", os.path.join(out, "model-f32.gguf")]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"convert_hf_to_gguf.py failed on {out}:\n{res.stderr[-4000:]}")


def load_base(name):
    import torch
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(os.path.join(DECODERS, name), dtype=torch.float32,
                                             attn_implementation="eager")
    m.eval()
    return m


def logits(model, ids):
    import torch
    with torch.no_grad():
        return model(torch.tensor([ids]), use_cache=False).logits[0].float().numpy()


def rounded(a):
    return [[float(f"{v:.6g}") for v in row] for row in a.tolist()]


def merged(peft_model, prompts, f16, llamacpp):
    """Logits of a merged copy (merge_and_unload), with A and B rounded to f16 first if `f16`,
    at llama.cpp's Gemma 2 attention scale if `llamacpp`."""
    import copy
    import torch
    m = copy.deepcopy(peft_model)
    if f16:
        with torch.no_grad():
            for pname, p in m.named_parameters():
                if "lora_A" in pname or "lora_B" in pname:
                    p.copy_(p.half().float())
    m = m.merge_and_unload()
    m.eval()
    if llamacpp:
        m.config.query_pre_attn_scalar = m.config.head_dim
        for layer in m.model.layers:
            layer.self_attn.scaling = m.config.head_dim ** -0.5
    return [logits(m, ids) for ids in prompts]


def make_adapter(spec, tmp):
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    name, base, seed, r, alpha, rslora, extra = spec
    golden_base = json.load(open(os.path.join(DECODERS, base, "golden.json")))
    prompts = [p["ids"] for p in golden_base["prompts"][:2]]
    model = load_base(base)
    base_logits = [logits(model, ids) for ids in prompts]
    cfg = LoraConfig(r=r, lora_alpha=alpha, use_rslora=rslora, target_modules=BLOCK + extra,
                     lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    torch.manual_seed(seed)
    for pname, p in peft_model.named_parameters():
        if "lora_A" in pname or "lora_B" in pname:
            with torch.no_grad():
                # std so that s * B A x is a sizeable fraction of W x: 1/sqrt(fan-in) each.
                p.copy_(torch.randn_like(p) / np.sqrt(p.shape[1]) * 0.5)
    peft_dir = os.path.join(tmp, name, "peft")
    # save_embedding_layers=False: with lm_head targeted PEFT would also save the whole
    # embedding and lm_head matrices, which the adapter does not change.
    peft_model.save_pretrained(peft_dir, save_embedding_layers=False)
    os.remove(os.path.join(peft_dir, "README.md"))
    merged_logits = merged(peft_model, prompts, f16=False, llamacpp=False)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(base_logits, merged_logits))
    spread = max(float(a.std()) for a in base_logits)
    assert moved > 0.5 * spread, f"{name}: the adapter barely moves the logits ({moved} vs {spread})"
    # The F16 GGUF holds A and B rounded to f16: its reference is the merged model of the
    # rounded adapter (the rounding alone moves these logits by up to ~1e-2).
    variants = {"logits_f16": merged(peft_model, prompts, f16=True, llamacpp=False)}
    if base == "tiny-gemma2":
        # GGUF has no query_pre_attn_scalar: llama.cpp runs Gemma 2 at 1/sqrt(head_dim), so the
        # GGUF copies are compared with the merged model at that scale (as the base fixture).
        variants["logits_llamacpp_scale"] = merged(peft_model, prompts, f16=False, llamacpp=True)
        variants["logits_f16_llamacpp_scale"] = merged(peft_model, prompts, f16=True, llamacpp=True)
    golden = {
        "adapter": name,
        "base": base,
        "r": r, "lora_alpha": alpha, "use_rslora": rslora, "targets": BLOCK + extra,
        "seed": seed,
        "versions": versions(),
        "max_logit_change": round(moved, 4),
        "prompts": [{"ids": ids, "base_logits": rounded(b), "logits": rounded(m)}
                    for ids, b, m in zip(prompts, base_logits, merged_logits)],
    }
    for key, rows in variants.items():
        for p, l in zip(golden["prompts"], rows):
            p[key] = rounded(l)
    return peft_dir, golden


GGUF_PART = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj"}


def q8_reference(convert_dir, spec, golden, path):
    """The Q8_0 GGUF's reference: the merged model of the adapter as that file holds it. The
    converter quantises only rows that are whole 32-value blocks: lora_a (k values a row) is
    Q8_0, lora_b (r = 4 or 8 a row) stays F16. Each lora_a is read back (gguf-py's dequantize)
    into a copy of the PEFT model; lora_b is taken as f16-rounded (not from the file: llama.cpp
    permutes Llama's q/k rows there)."""
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(convert_dir, "gguf-py"))
    import gguf
    from peft import PeftModel
    name, base = spec[0], spec[1]
    model = PeftModel.from_pretrained(load_base(base), os.path.join(os.path.dirname(path), "peft"))
    params = dict(model.named_parameters())
    reader = gguf.GGUFReader(path)
    quantised = 0
    for t in reader.tensors:
        stem = t.name.rsplit(".weight.", 1)[0]
        if t.name.endswith("lora_b"):
            assert t.tensor_type != gguf.GGMLQuantizationType.Q8_0, t.name
            continue
        if t.tensor_type != gguf.GGMLQuantizationType.Q8_0:
            continue
        parts = stem.split(".")
        module = "lm_head" if stem == "output" else f"model.layers.{parts[1]}.{GGUF_PART[parts[2]]}"
        key = f"base_model.model.{module}.lora_A.default.weight"
        a = gguf.quants.dequantize(t.data, t.tensor_type).reshape(params[key].shape)
        with torch.no_grad():
            params[key].copy_(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)))
        quantised += 1
    assert quantised > 0, f"{path}: no Q8_0 tensor"
    with torch.no_grad():
        for pname, p in params.items():
            if "lora_B" in pname:
                p.copy_(p.half().float())
    prompts = [p["ids"] for p in golden["prompts"]]
    rows = {"logits_q8_0": merged(model, prompts, f16=False, llamacpp=False)}
    if base == "tiny-gemma2":
        rows["logits_q8_0_llamacpp_scale"] = merged(model, prompts, f16=False, llamacpp=True)
    for key, ls in rows.items():
        for p, l in zip(golden["prompts"], ls):
            p[key] = rounded(l)


def versions():
    import numpy
    import peft
    import safetensors
    import torch
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "safetensors": safetensors.__version__,
            "numpy": numpy.__version__}


def convert(convert_dir, base, peft_dir, outtype, outfile):
    # convert_lora_to_gguf.py ignores use_rslora (it writes lora_alpha, and llama.cpp scales by
    # alpha / r): an rsLoRA adapter is converted from a copy whose alpha is alpha * sqrt(r), so
    # the GGUF means what the PEFT folder does.
    cfg = json.load(open(os.path.join(peft_dir, "adapter_config.json")))
    if cfg.get("use_rslora"):
        # Next to tmp/<name>/, not inside it: tmp/<name>/ is what gets copied into the fixtures.
        src = os.path.dirname(peft_dir) + "-rslora-as-alpha"
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(peft_dir, src)
        cfg["lora_alpha"] = cfg["lora_alpha"] * cfg["r"] ** 0.5
        cfg["use_rslora"] = False
        with open(os.path.join(src, "adapter_config.json"), "w") as f:
            json.dump(cfg, f)
        peft_dir = src
    env = dict(os.environ, PYTHONPATH=os.path.join(convert_dir, "gguf-py") + os.pathsep + convert_dir)
    cmd = [sys.executable, os.path.join(convert_dir, "convert_lora_to_gguf.py"),
           "--base", os.path.join(DECODERS, base), "--outtype", outtype, "--outfile", outfile, peft_dir]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"convert_lora_to_gguf.py failed on {peft_dir} ({outtype}):\n{res.stderr[-4000:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convert-dir", required=True)
    ap.add_argument("--only", nargs="*", help="adapter names to (re)make; default all")
    args = ap.parse_args()
    make_gemma3_base(args.convert_dir)
    with tempfile.TemporaryDirectory() as tmp:
        for spec in ADAPTERS:
            if args.only and spec[0] not in args.only:
                continue
            name, base = spec[0], spec[1]
            peft_dir, golden = make_adapter(spec, tmp)
            out = os.path.join(tmp, name)
            for outtype in ["f32", "f16", "q8_0"]:
                convert(args.convert_dir, base, peft_dir, outtype, os.path.join(out, f"adapter-{outtype}.gguf"))
            q8_reference(args.convert_dir, spec, golden, os.path.join(out, "adapter-q8_0.gguf"))
            with open(os.path.join(out, "golden.json"), "w") as f:
                json.dump(golden, f, separators=(",", ":"))
                f.write("\n")
            # The config's base path is this machine's; keep the file portable.
            cfg_path = os.path.join(peft_dir, "adapter_config.json")
            cfg = json.load(open(cfg_path))
            cfg["base_model_name_or_path"] = f"tests/fixtures/decoders/{base}"
            cfg["target_modules"] = sorted(cfg["target_modules"])  # a set in PEFT: any order
            with open(cfg_path, "w") as f:
                json.dump(cfg, f, indent=2, sort_keys=True)
                f.write("\n")
            dest = os.path.join(OUT, name)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(out, dest)
            sizes = {fn: os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(dest) for fn in fns}
            print(name, golden["max_logit_change"], sizes)


if __name__ == "__main__":
    main()
