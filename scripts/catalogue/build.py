#!/usr/bin/env python3
"""Writes src/catalogue/models.json (schema 2) from src/catalogue/base.json (the models we offer,
by hand) and src/catalogue/hub-facts.json (sizes, sha256 and commits found for them, with the
pages each fact came from). Run it after either changes: `python3 scripts/catalogue/build.py`.

A file whose size, sha256 or commit was not found is `unverified: true`, and so is the variant
holding it; its URL then names `main` where no commit was found. Where base.json names a `local`
folder (a copy fetched here, e.g. all-MiniLM-L6-v2 from its PyPI wheel), files the facts leave
without a hash are hashed from that copy, and a size or hash the copy contradicts is an error.
Standard library only, so any machine with Python runs it.
"""
import hashlib
import json
import math
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
HUB = 'https://huggingface.co'
HEX40 = re.compile(r'^[0-9a-f]{40}$')
HEX64 = re.compile(r'^[0-9a-f]{64}$')


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def file_entry(repo, commit, fact, local):
    path = fact['path']
    size, sha = fact.get('size'), fact.get('sha256')
    sha = sha.lower() if isinstance(sha, str) and HEX64.match(sha.lower()) else None
    size = size if isinstance(size, int) and size > 0 else None
    # A GGUF fetched here (scripts/fetch-models.sh) lies in models/ under its own name: a hash
    # that it contradicts is an error.
    copy = os.path.join(ROOT, 'models', os.path.basename(path))
    if not local and path.endswith('.gguf') and os.path.isfile(copy) and (sha or size):
        if (size and size != os.path.getsize(copy)) or (sha and sha != sha256_of(copy)):
            sys.exit(f'models/{os.path.basename(path)}: the copy here is not the facts\' {path}')
    if local and os.path.isfile(os.path.join(ROOT, local, path)):
        here = os.path.join(ROOT, local, path)
        got_size, got_sha = os.path.getsize(here), sha256_of(here)
        if size is not None and size != got_size:
            sys.exit(f'{local}/{path}: {got_size} bytes here, the facts say {size}')
        if sha is not None and sha != got_sha:
            sys.exit(f'{local}/{path}: sha256 {got_sha} here, the facts say {sha}')
        size, sha = got_size, got_sha
    out = {'path': path, 'url': f'{HUB}/{repo}/resolve/{commit or "main"}/{path}'}
    if size is not None:
        out['size'] = size
    if sha is not None:
        out['sha256'] = sha
    if size is None or sha is None or not commit:
        out['unverified'] = True
    return out


def variant_entry(vid, facts, base, local):
    repo = facts.get('repo') or base['repo']
    commit = facts.get('commit')
    commit = commit if isinstance(commit, str) and HEX40.match(commit) else None
    files = [file_entry(repo, commit, f, local) for f in facts['files']]
    weight_files = [f for f in files if f['path'].endswith(('.gguf', '.safetensors'))]
    if all('size' in f for f in weight_files):
        # GGUF blocks and safetensors tensors are uploaded as stored, so the weights take their
        # file's bytes; base.json's overhead adds the KV cache and the activations.
        gpu_mb = math.ceil(sum(f['size'] for f in weight_files) / 2**20) + base['overhead_mb']
    else:
        gpu_mb = base['unknown_size_gpu_memory_mb']
    out = {
        'id': vid,
        'format': facts.get('format') or ('gguf' if any(f['path'].endswith('.gguf') for f in files) else 'safetensors'),
        # `q4_k_m-bartowski` is a Q4_K_M from another repository.
        'dtype': vid.split('-')[0],
        'gpu_memory_mb': gpu_mb,
        'files': files,
    }
    if any(f.get('unverified') for f in files) or not files:
        out['unverified'] = True
    return out


def sources_note(facts, default):
    """The sources of the default download's facts (hub-facts.json keeps every variant's)."""
    pages = []
    for v in [facts['variants'][default]] if default in facts.get('variants', {}) else []:
        for f in v.get('files', []):
            for s in f.get('sources', []) or []:
                if s not in pages:
                    pages.append(s)
    return pages


def model_entry(base, facts):
    keep = ('id', 'name', 'task', 'model_type', 'license', 'gated', 'license_url', 'context_length', 'default_context', 'repo')
    out = {k: base[k] for k in keep if k in base}
    local = base.get('local')
    if base.get('extra_variants'):
        facts = dict(facts or {'variants': {}})
        facts['variants'] = {**facts.get('variants', {}), **{k: v for k, v in base['extra_variants'].items() if k not in facts.get('variants', {})}}
    orig = base.get('original')
    if orig and facts and not any(v.get('format') == 'safetensors' for v in facts.get('variants', {}).values()):
        facts = dict(facts)
        extra = {'repo': orig['repo'], 'format': 'safetensors', 'files': [{'path': p} for p in orig['files']]}
        facts['variants'] = {**facts.get('variants', {}), orig['variant']: extra}
    if orig and facts:
        # A safetensors variant is a folder: the facts may list only the files they found, and
        # the loader needs the rest too (listed unverified, without a size).
        variants = {}
        for vid, v in facts.get('variants', {}).items():
            if v.get('format') == 'safetensors':
                have = {f['path'] for f in v['files']}
                v = {**v, 'files': v['files'] + [{'path': p} for p in orig['files'] if p not in have]}
            variants[vid] = v
        facts = {**facts, 'variants': variants}
    if facts and facts.get('variants'):
        default = facts.get('default') or next(iter(facts['variants']))
        variants = {vid: variant_entry(vid, v, base, local) for vid, v in facts['variants'].items()}
        # The facts may say more than the URL ("https://... (accept the licence there)").
        page = re.search(r'https://\S+', facts.get('license_url') or '')
        if page:
            out['license_url'] = page.group(0).rstrip('.,;)')
        if 'gated' in facts and facts['gated'] is not None:
            out['gated'] = bool(facts['gated'])
        pages = sources_note(facts, default)
        out['note'] = ('default download: facts from ' + '; '.join(pages)) if pages else 'no source recorded for the default download'
        out['note'] += '; every variant\'s sources are in src/catalogue/hub-facts.json'
        if local:
            out['note'] += f'; small files hashed from the copy in {local} (its model.safetensors is the hub\'s LFS object)'
    else:
        fb = base['fallback']
        default = fb['variant']
        facts_v = {'repo': fb['repo'], 'format': fb['format'], 'files': [{'path': p} for p in fb['files']]}
        variants = {default: variant_entry(default, facts_v, base, local)}
        out['note'] = 'unverified: no size, sha256 or commit for this entry was found in the stored hub pages or public code; the download is our best guess of the file people use'
    if default not in variants:
        sys.exit(f'{base["id"]}: default variant {default} has no facts')
    d = variants.pop(default)
    out['variant'] = d.pop('id')
    out.update(d)
    out['variants'] = list(variants.values())
    return out


def main():
    base = json.load(open(os.path.join(ROOT, 'src/catalogue/base.json')))
    facts_path = os.path.join(ROOT, 'src/catalogue/hub-facts.json')
    facts = json.load(open(facts_path)) if os.path.exists(facts_path) else {'models': {}}
    models = [model_entry(b, facts['models'].get(b['id'])) for b in base['models']]
    catalogue = {
        'version': 2,
        'note': (
            'Real checkpoints webslm runs, by catalogue id (webslm --model ID[:VARIANT], createEngine(id, { variant })). '
            'Generated by scripts/catalogue/build.py from base.json and hub-facts.json: do not edit by hand. '
            "files is the default download (decoders: a 4-bit GGUF; encoders: the repository's files), variants the alternatives. "
            'Every URL is pinned to a hub commit and every file has its exact size and sha256, except where unverified says a fact could not be found '
            '(the machines that built this cannot reach the hub: facts come from stored copies of hub pages and public code pinning the files; each entry\'s note names them). '
            'Gated models (Gemma, Llama) need a hub token from a user who accepted the licence at license_url. '
            'gpu_memory_mb = weights as stored + an f32 KV cache at default_context + activations.'
        ),
        'models': models,
    }
    with open(os.path.join(ROOT, 'src/catalogue/models.json'), 'w') as f:
        json.dump(catalogue, f, indent=1)
        f.write('\n')
    with open(os.path.join(ROOT, 'src/catalogue/SOURCES.md'), 'w') as f:
        f.write(sources_table(models))
    for m in models:
        flag = ' (unverified)' if m.get('unverified') else ''
        size = sum(x.get('size', 0) for x in m['files'])
        print(f"{m['id']}: {m['variant']} {m['files'][0]['path']} {size} bytes{flag}")


def sources_table(models):
    """SOURCES.md: each entry's default download, its size, and where its facts came from."""
    rows = [
        '# Where the catalogue\'s facts come from',
        '',
        'Generated by scripts/catalogue/build.py with models.json. The default download of each entry',
        '(a decoder\'s weights file; an encoder\'s model.safetensors), its size, its sha256, and the sources',
        'of those facts (hub-facts.json has them per file, for every variant).',
        '',
        '| id | default | file | bytes | sha256 | verified | facts from |',
        '|---|---|---|---|---|---|---|',
    ]
    for m in models:
        weights = next((x for x in m['files'] if x['path'].endswith(('.gguf', '.safetensors'))), m['files'][0])
        repo = weights['url'].split('/resolve/')[0].removeprefix(HUB + '/')
        size = weights.get('size', 'unknown')
        sha = weights.get('sha256', 'not found')[:16] + ('...' if 'sha256' in weights else '')
        ok = 'no' if m.get('unverified') else 'yes'
        note = m['note'].replace('|', '/')
        rows.append(f"| {m['id']} | {m['variant']} | {repo}/{weights['path']} | {size} | {sha} | {ok} | {note} |")
    return '\n'.join(rows) + '\n'


if __name__ == '__main__':
    main()
