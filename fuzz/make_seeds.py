#!/usr/bin/env python3
"""Writes the fuzz seed corpus under fuzz/seeds/<target>/: a few small valid files made by hand,
and the first bytes (< 64 KB) of the real models' headers and templates when models/ exists.
Run from the repository root: python3 fuzz/make_seeds.py"""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
MODELS = os.path.join(ROOT, "models")
CUT = 60_000


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, data_len):
    """kvs: [(key, type_id, payload)], tensors: [(name, dims, ggml_type, offset)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, p in kvs:
        out += gstr(k) + struct.pack("<I", t) + p
    for name, dims, ty, off in tensors:
        out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ty, off)
    out += b"\0" * (-len(out) % 32)
    return out + b"\0" * data_len


# GGUF: metadata of several types (incl. a nested array), an F32 and a Q4_0 tensor.
arr_u32 = struct.pack("<IQ", 4, 3) + struct.pack("<3I", 1, 2, 3)
arr_str = struct.pack("<IQ", 8, 2) + gstr("a") + gstr("<|im_end|>")
nested = struct.pack("<IQ", 9, 1) + arr_u32
put("gguf_header", "small_valid.gguf", gguf(
    [("general.architecture", 8, gstr("llama")), ("llama.block_count", 4, struct.pack("<I", 2)),
     ("llama.rope.freq_base", 6, struct.pack("<f", 1e4)), ("general.alignment", 4, struct.pack("<I", 32)),
     ("tokenizer.ggml.tokens", 9, arr_str), ("ids", 9, arr_u32), ("nested", 9, nested),
     ("flag", 7, b"\x01"), ("big", 10, struct.pack("<Q", 1 << 40)), ("f64", 12, struct.pack("<d", 0.5))],
    [("a", [8], 0, 0), ("b", [32, 2], 2, 32)], 32 + 36))
put("gguf_header", "empty_valid.gguf", gguf([], [], 0))
put("gguf_header", "bad_magic.bin", b"GGUX" + b"\0" * 20)

# safetensors: a small valid file (F32 + I64, metadata) and a bad one.
hdr = json.dumps({"__metadata__": {"format": "pt"},
                  "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                  "ids": {"dtype": "I64", "shape": [2], "data_offsets": [16, 32]}}).encode()
put("safetensors_header", "small_valid.safetensors", struct.pack("<Q", len(hdr)) + hdr + b"\0" * 32)
hdr = b'{"x":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}'
put("safetensors_header", "bf16.safetensors", struct.pack("<Q", len(hdr)) + hdr + b"\0" * 6)
put("safetensors_header", "index.json", json.dumps({"metadata": {}, "weight_map": {"w": "model-00001-of-00002.safetensors"}}))

# tokenizer.json: tiny WordPiece, BPE and Unigram tokenizers.
wordpiece = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [
    {"id": 0, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
              "vocab": {"[UNK]": 0, "hello": 1, "wo": 2, "##rld": 3, ",": 4, "!": 5}}}
put("tokenizer_json", "wordpiece.json", json.dumps(wordpiece))
bpe = {"version": "1.0", "added_tokens": [], "normalizer": None,
       "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
       "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
       "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                 "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                 "vocab": {"H": 0, "e": 1, "l": 2, "o": 3, "He": 4, "ll": 5, "Hell": 6}, "merges": ["H e", "l l", "He ll"]}}
put("tokenizer_json", "bpe.json", json.dumps(bpe))
unigram = {"version": "1.0", "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
           "post_processor": None, "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
           "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                     "vocab": [["<unk>", 0.0], ["\u2581He", -1.0], ["llo", -2.0], ["\u2581", -3.0], ["o", -4.0]]}}
put("tokenizer_json", "unigram.json", json.dumps(unigram))

# vocab.txt: vocabulary, then NUL + tokenizer_config.json, then NUL + special_tokens_map.json
# (fuzz/harness.rs::vocab_txt).
bert_vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nw\n##or\n##ld\n,\n!\n你\n好\n"
put("vocab_txt", "uncased.txt", bert_vocab)
put("vocab_txt", "cased_config.txt", bert_vocab + "Hello\n\0" + json.dumps(
    {"do_lower_case": False, "strip_accents": True, "tokenize_chinese_chars": False, "model_max_length": 8,
     "unk_token": {"__type": "AddedToken", "content": "[UNK]"}}))
put("vocab_txt", "empty_tokens.txt", "\n##\n" + bert_vocab + "\0" + json.dumps(
    {"unk_token": "", "cls_token": "", "sep_token": "##", "pad_token": None, "mask_token": {"__type": "AddedToken", "content": ""}}))
put("vocab_txt", "special_tokens_map.txt", bert_vocab + "\0{}\0" + json.dumps({"mask_token": "[PAD]", "cls_token": "[MASK]"}))

# GGUF vocabularies: a byte-level BPE (gpt2) and a SentencePiece (llama) one, with types and ids.
def arr(ty, items):
    return struct.pack("<IQ", ty, len(items)) + b"".join(items)

def strs(items):
    return arr(8, [gstr(x) for x in items])

bpe_tokens = ["H", "e", "l", "o", "He", "ll", "Hell", "\u0120", "\u0120w", "<|endoftext|>"]
put("gguf_vocab", "bpe_vocab.gguf", gguf(
    [("general.architecture", 8, gstr("llama")), ("tokenizer.ggml.model", 8, gstr("gpt2")),
     ("tokenizer.ggml.pre", 8, gstr("smollm")), ("tokenizer.ggml.tokens", 9, strs(bpe_tokens)),
     ("tokenizer.ggml.token_type", 9, arr(5, [struct.pack("<i", 3 if t.startswith("<|") else 1) for t in bpe_tokens])),
     ("tokenizer.ggml.merges", 9, strs(["H e", "l l", "He ll", "\u0120 w"])),
     ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 9)), ("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 9))],
    [], 0))
spm_tokens = ["<unk>", "<s>", "</s>", "<0x48>", "\u2581He", "llo", "\u2581", "o"]
put("gguf_vocab", "spm_vocab.gguf", gguf(
    [("general.architecture", 8, gstr("llama")), ("tokenizer.ggml.model", 8, gstr("llama")),
     ("tokenizer.ggml.tokens", 9, strs(spm_tokens)),
     ("tokenizer.ggml.scores", 9, arr(6, [struct.pack("<f", -float(i)) for i in range(len(spm_tokens))])),
     ("tokenizer.ggml.token_type", 9, arr(5, [struct.pack("<i", t) for t in [2, 3, 3, 6, 1, 1, 1, 1]])),
     ("tokenizer.ggml.add_bos_token", 7, b"\x01"), ("tokenizer.ggml.add_space_prefix", 7, b"\x01")],
    [], 0))

# HF folders' JSON (config.json, tokenizer_config.json) and small tokenizer.json files, from the
# committed test fixtures.
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
for kind in ["decoders", "encoders"]:
    for model in sorted(os.listdir(os.path.join(FIXTURES, kind))):
        d = os.path.join(FIXTURES, kind, model)
        for name in ["config.json", "tokenizer_config.json"]:
            if os.path.exists(os.path.join(d, name)):
                with open(os.path.join(d, name), "rb") as f:
                    put("hf_config", model + "." + name, f.read())
        tj = os.path.join(d, "tokenizer.json")
        if kind == "decoders" and os.path.getsize(tj) < 20_000:
            with open(tj, "rb") as f:
                put("tokenizer_json", model + ".json", f.read())

# Chat templates: the built-in fallbacks' style, loop controls, methods, raise_exception.
put("chat_template", "chatml.jinja", "Hi\n{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
put("chat_template", "gemma.jinja", "{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}")
put("chat_template", "methods.jinja", "x y\n{% set ns = namespace(n=0) %}{% for m in messages %}{% if loop.index0 > 5 %}{% break %}{% endif %}{{ m.content.strip().split(' ')|join(',')|upper }}{{ m|tojson }}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}{{ messages[-1].content.startswith('H') }}")
put("chat_template", "raise.jinja", "{% if messages|length > 1 %}{{ raise_exception('roles must alternate') }}{% endif %}")
put("chat_template", "macro.jinja", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(5) }}{{ range(3)|list|tojson(indent=2) }}")

# Real files, cut to < 64 KB.
def head(path, n=CUT):
    with open(path, "rb") as f:
        return f.read(n)

if os.path.isdir(MODELS):
    # Apache-2.0 models only: Gemma's header (its vocabulary) stays out of the repository.
    for name in ["SmolLM2-135M-Instruct.Q4_1.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]:
        p = os.path.join(MODELS, name)
        if os.path.exists(p):
            put("gguf_header", name + ".head", head(p))
    st = os.path.join(MODELS, "all-minilm-l6-v2", "model.safetensors")
    if os.path.exists(st):
        n = struct.unpack("<Q", head(st, 8))[0]
        put("safetensors_header", "minilm.head", head(st, min(CUT, 8 + n)))
    cfg = os.path.join(MODELS, "all-minilm-l6-v2", "tokenizer_config.json")
    if os.path.exists(cfg):
        put("tokenizer_json", "minilm_tokenizer_config.json", head(cfg))
    for name in ["SmolLM2-135M-Instruct.Q4_1.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]:
        p = os.path.join(MODELS, name)
        if not os.path.exists(p):
            continue
        data = head(p, 8 << 20)
        key = b"tokenizer.chat_template"
        i = data.find(key)
        if i >= 0:
            j = i + len(key) + 4  # skip the value type
            (n,) = struct.unpack("<Q", data[j:j + 8])
            put("chat_template", name.split(".")[0] + ".jinja", data[j + 8:j + 8 + n])
