#!/usr/bin/env python3
"""Renders llama.cpp's chat-template corpus the way HF transformers' `apply_chat_template` does,
for the fixtures tests/chat_template_corpus.rs compares webslm against.

Every template in tests/fixtures/templates/llama.cpp/*.jinja is rendered for every case in
tests/fixtures/templates/conversations.json with transformers' own code: the messages go through
`_normalize_chat_messages` (None-valued keys dropped) and `render_jinja_template` (transformers'
compiled sandbox: trim_blocks, lstrip_blocks, loopcontrols, raise_exception, strftime_now, its
tojson), with bos_token / eos_token as `apply_chat_template` passes them from the tokenizer's
special-token map. Nothing here re-implements the rendering.

`strftime_now` reads the clock, so the clock is pinned to conversations.json's `now` (a naive local
time, as Python's `datetime.now()` gives) to make the fixtures reproducible; webslm's test pins the
same instant.

Where the template itself raises (`raise_exception`, or a Jinja error such as calling a method on
an undefined value), the fixture holds the exception's class and message instead of a prompt.

Run (from the repository root):
    /work/venv-tok/bin/python scripts/templates/render_hf.py
needs transformers (5.x) and jinja2 >= 3.1.6; writes tests/fixtures/templates/expected.json.
"""

import datetime as _dt
import hashlib
import json
import pathlib
import sys

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "templates"


def pin_clock(now: _dt.datetime) -> None:
    """transformers' strftime_now calls `datetime.now()` through its module's global; pin it."""

    class Pinned(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return now

    ctu.datetime = Pinned


def render(source: str, messages: list, tools, add_generation_prompt: bool, special: dict) -> dict:
    chat = ctu._normalize_chat_messages(messages)
    try:
        rendered, _ = ctu.render_jinja_template(
            conversations=[chat],
            tools=tools,
            chat_template=source,
            add_generation_prompt=add_generation_prompt,
            **special,
        )
        return {"prompt": rendered[0]}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": {"kind": "syntax", "message": str(e)}}
    except jinja2.exceptions.TemplateError as e:
        # raise_exception raises a bare TemplateError; Jinja's own errors are subclasses.
        kind = "raise" if type(e) is jinja2.exceptions.TemplateError else "jinja"
        return {"error": {"kind": kind, "type": type(e).__name__, "message": str(e)}}
    except Exception as e:  # a Python error inside the template (TypeError, KeyError, ...)
        return {"error": {"kind": "python", "type": type(e).__name__, "message": str(e)}}


def main() -> int:
    spec = json.loads((FIXTURES / "conversations.json").read_text(encoding="utf-8"))
    pin_clock(_dt.datetime.fromisoformat(spec["now"]))
    special = {"bos_token": spec["bos_token"], "eos_token": spec["eos_token"]}
    results = []
    templates = sorted((FIXTURES / "llama.cpp").glob("*.jinja"))
    for path in templates:
        source = path.read_text(encoding="utf-8")
        for case in spec["cases"]:
            conv = spec["conversations"][case["conversation"]]
            tools = spec["tools"] if conv.get("tools") else None
            out = render(source, conv["messages"], tools, case["add_generation_prompt"], special)
            results.append(
                {
                    "template": path.name,
                    "template_sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
                    "conversation": case["conversation"],
                    "add_generation_prompt": case["add_generation_prompt"],
                    **out,
                }
            )
    doc = {
        "generator": "scripts/templates/render_hf.py",
        "transformers": transformers.__version__,
        "jinja2": jinja2.__version__,
        "results": results,
    }
    out = FIXTURES / "expected.json"
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    errors = sum(1 for r in results if "error" in r)
    print(f"{len(templates)} templates x {len(spec['cases'])} cases: {len(results)} renders, {errors} raise; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
