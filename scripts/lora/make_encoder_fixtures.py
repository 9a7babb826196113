#!/usr/bin/env python3
"""Tiny LoRA adapters (PEFT) on the tiny encoder classifiers, with transformers goldens, for
tests/lora_encoder.rs.

Output, per adapter, under tests/fixtures/lora/<name>/:
    peft/adapter_config.json, peft/adapter_model.safetensors   (PEFT save_pretrained)
    peft/config.json        only when the adapter's head has other labels than the base's: the
                            task model's config (model.config.save_pretrained), whose id2label
                            webslm reads for the new head
    golden.json: base fixture, the base golden's texts, ids and type ids, the base model's logits
        and the merged model's (PeftModel.merge_and_unload()) per text, the adapter's labels.

Adapters (PEFT's SEQ_CLS task adds the classifier to modules_to_save by itself):
    bert-sst-qv    tiny-bert-sst, r 8, targets query + value, its own 3-label classifier head
    bert-sst-2way  tiny-bert-sst, r 4, targets query, key, value, dense (which includes
                   bert.pooler.dense), a 2-label head (base has 3) with id2label in config.json
    distilbert-sst tiny-distilbert-sst, r 8, rsLoRA, targets q_lin + v_lin, modules_to_save
                   pre_classifier and classifier (both Linear layers of DistilBERT's head)
    bert-ner       tiny-bert-ner (token classification), r 8, targets query + value, its classifier
    mobilebert-qa  tiny-mobilebert-qa (question answering), r 4, targets query, value and every
                   `dense` (MobileBERT's bottlenecks and FFNs), its own qa_outputs
Token-level goldens (NER, QA) are per input the flattened [tokens, outputs] logits (QA: start and
end interleaved), as webslm's TextModel::logits returns them.
PEFT initialises B to zero (an adapter that changes nothing, so a test could not fail): every A
and B is redrawn from a seeded normal, and every saved head tensor too, so each adapter moves the
logits by about as much as they spread.

GGUF: llama.cpp's convert_lora_to_gguf.py (llama-cpp-python 0.3.36 sdist) stops on any tensor that
is not lora_A / lora_B (a modules_to_save head: "Unexpected name ... Not a lora_A or lora_B
tensor"), and webslm loads encoders from safetensors only, so there are no GGUF copies here.

How to run (from the repository root; seconds on 2 cores), in a venv with torch (CPU),
transformers, peft, safetensors, numpy (here /work/venv-peft):
    /work/venv-peft/bin/python scripts/lora/make_encoder_fixtures.py [NAME ...]
"""

import json
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENCODERS = os.path.join(ROOT, "tests", "fixtures", "encoders")
OUT = os.path.join(ROOT, "tests", "fixtures", "lora")

# name, base fixture, seed, r, alpha, rslora, targets, modules_to_save, new labels (None: base's),
# task
ADAPTERS = [
    ("bert-sst-qv", "tiny-bert-sst", 21, 8, 16, False, ["query", "value"], None, None, "SEQ_CLS"),
    ("bert-sst-2way", "tiny-bert-sst", 22, 4, 8, False, ["query", "key", "value", "dense"], None,
     ["ham", "spam"], "SEQ_CLS"),
    ("distilbert-sst", "tiny-distilbert-sst", 23, 8, 8, True, ["q_lin", "v_lin"],
     ["pre_classifier", "classifier"], None, "SEQ_CLS"),
    ("bert-ner", "tiny-bert-ner", 24, 8, 16, False, ["query", "value"], None, None, "TOKEN_CLS"),
    ("mobilebert-qa", "tiny-mobilebert-qa", 25, 4, 8, False, ["query", "value", "dense"], ["qa_outputs"],
     None, "QUESTION_ANS"),
]

AUTO = {"SEQ_CLS": "AutoModelForSequenceClassification", "TOKEN_CLS": "AutoModelForTokenClassification",
        "QUESTION_ANS": "AutoModelForQuestionAnswering"}


def load_base(base, labels, task="SEQ_CLS"):
    import torch
    import transformers
    auto = getattr(transformers, AUTO[task])
    kw = {}
    if labels is not None:
        # A head of another size: transformers draws it fresh (ignore_mismatched_sizes); the
        # adapter's saved copy is redrawn below anyway.
        kw = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                  label2id={l: i for i, l in enumerate(labels)}, ignore_mismatched_sizes=True)
    m = auto.from_pretrained(os.path.join(ENCODERS, base), dtype=torch.float32,
                                                           attn_implementation="eager", **kw)
    m.eval()
    return m


def logits(model, ids, type_ids):
    import torch
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([type_ids]),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    if hasattr(out, "start_logits"):
        # [tokens, 2]: start and end interleaved, as webslm's QA head writes them.
        return torch.stack([out.start_logits[0], out.end_logits[0]], dim=-1).reshape(-1).float().numpy()
    return out.logits[0].reshape(-1).float().numpy()


def rounded(a):
    return [float(f"{v:.7g}") for v in a.tolist()]


def versions():
    import numpy
    import peft
    import safetensors
    import torch
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "safetensors": safetensors.__version__,
            "numpy": numpy.__version__}


def make_adapter(spec, tmp):
    import copy
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    name, base, seed, r, alpha, rslora, targets, to_save, labels, task = spec
    g = json.load(open(os.path.join(ENCODERS, base, "golden.json")))
    ids, type_ids = g["ids"], g["type_ids"]
    base_model = load_base(base, None, task)
    base_logits = [logits(base_model, i, t) for i, t in zip(ids, type_ids)]
    model = load_base(base, labels, task)
    cfg = LoraConfig(r=r, lora_alpha=alpha, use_rslora=rslora, target_modules=targets,
                     modules_to_save=to_save, lora_dropout=0.0, bias="none", task_type=task)
    peft_model = get_peft_model(model, cfg)
    torch.manual_seed(seed)
    for pname, p in peft_model.named_parameters():
        with torch.no_grad():
            if "lora_A" in pname or "lora_B" in pname:
                # std so that s * B A x is a sizeable fraction of W x: 1/sqrt(fan-in) each.
                p.copy_(torch.randn_like(p) / np.sqrt(p.shape[1]) * 0.5)
            elif "modules_to_save" in pname:
                fan_in = p.shape[1] if p.dim() == 2 else 1
                p.copy_(torch.randn_like(p) / np.sqrt(fan_in) * 3.0)
    peft_dir = os.path.join(tmp, name, "peft")
    peft_model.save_pretrained(peft_dir)
    os.remove(os.path.join(peft_dir, "README.md"))
    if labels is not None:
        model.config.save_pretrained(peft_dir)
    merged = copy.deepcopy(peft_model).merge_and_unload()
    merged.eval()
    merged_logits = [logits(merged, i, t) for i, t in zip(ids, type_ids)]
    if labels is None:
        moved = max(float(np.abs(a - b).max()) for a, b in zip(base_logits, merged_logits))
        spread = max(float(a.std()) for a in base_logits)
        assert moved > 0.5 * spread, f"{name}: the adapter barely moves the logits ({moved} vs {spread})"
    # The LoRA terms alone must matter too (not only the new head): with the pairs at scale 0
    # and the saved head kept, the logits must differ from the merged model's.
    no_lora = copy.deepcopy(peft_model)
    for mod in no_lora.modules():
        if hasattr(mod, "scaling") and isinstance(mod.scaling, dict):
            mod.scaling = {k: 0.0 for k in mod.scaling}
    head_only = [logits(no_lora, i, t) for i, t in zip(ids, type_ids)]
    lora_moved = max(float(np.abs(a - b).max()) for a, b in zip(head_only, merged_logits))
    assert lora_moved > 0.1, f"{name}: the LoRA pairs barely move the logits ({lora_moved})"
    golden = {
        "adapter": name, "base": base, "r": r, "lora_alpha": alpha, "use_rslora": rslora,
        "targets": targets, "modules_to_save": sorted(peft_model.peft_config["default"].modules_to_save or []),
        "seed": seed, "versions": versions(),
        "task": task,
        "labels": [] if task == "QUESTION_ANS" else
                  [merged.config.id2label[i] for i in range(merged.config.num_labels)],
        "inputs": g["inputs"], "ids": ids, "type_ids": type_ids,
        "base_logits": [rounded(b) for b in base_logits],
        "logits": [rounded(m) for m in merged_logits],
        "lora_only_change": round(lora_moved, 4),
    }
    return peft_dir, golden


def main():
    with tempfile.TemporaryDirectory() as tmp:
        only = sys.argv[1:]  # adapter names to (re)make; default all
        for spec in ADAPTERS:
            name, base = spec[0], spec[1]
            if only and name not in only:
                continue
            peft_dir, golden = make_adapter(spec, tmp)
            with open(os.path.join(tmp, name, "golden.json"), "w") as f:
                json.dump(golden, f, indent=1)
                f.write("\n")
            # The config's base path is this machine's; keep the file portable.
            cfg_path = os.path.join(peft_dir, "adapter_config.json")
            cfg = json.load(open(cfg_path))
            cfg["base_model_name_or_path"] = f"tests/fixtures/encoders/{base}"
            for key in ["target_modules", "modules_to_save"]:
                if cfg.get(key):
                    cfg[key] = sorted(cfg[key])  # sets in PEFT: any order
            with open(cfg_path, "w") as f:
                json.dump(cfg, f, indent=2, sort_keys=True)
                f.write("\n")
            dest = os.path.join(OUT, name)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(os.path.join(tmp, name), dest)
            sizes = {fn: os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(dest) for fn in fns}
            print(name, golden["labels"], golden["lora_only_change"], sizes)


if __name__ == "__main__":
    main()
