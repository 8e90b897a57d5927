#!/usr/bin/env python3
# Renders llama.cpp's real chat templates with transformers' own renderer (jinja2) into the goldens JinjaTests compares.
"""For every template in the llama-cpp-python 0.3.16 sdist's vendor/llama.cpp/models/templates/*.jinja (fetched
by Tools/tokenizer/fetch_llama_cpp_assets.py) and every conversation below, renders what
`tokenizer.apply_chat_template(messages, tools=..., add_generation_prompt=..., tokenize=False)` renders:
transformers' `render_jinja_template` (ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks, loopcontrols),
its tojson, raise_exception, strftime_now, namespace, dict) after `_normalize_chat_messages`, with bos_token and
eos_token as the only special-token variables and `datetime.now()` fixed to DATE. A template that raises records
the exception instead of an output. Output: Tests/JinjaTests/Goldens/chat-templates.json.

Usage: $NPULLAMA_CACHE/venv-tools/bin/python Tools/make-template-goldens.py
  (the venv Tools/setup.sh makes from Tools/tokenizer/requirements.txt: jinja2 3.1.6, transformers 5.24.0)
"""

import datetime as _dt
import hashlib
import json
import os
import sys
from pathlib import Path

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("NPULLAMA_CACHE", str(Path.home() / ".cache/npu-llama")))
TEMPLATES = CACHE / "llama.cpp-0.3.16" / "models" / "templates"
OUT = ROOT / "Tests" / "JinjaTests" / "Goldens" / "chat-templates.json"
DATE = (2024, 7, 26)


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(*DATE)


ctu.datetime = _FixedDatetime  # what strftime_now calls (chat_template_utils: datetime.now().strftime(format))

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
            },
            "required": ["city"],
        },
    },
}
CALL = {"id": "call12345", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
CONVERSATIONS = {
    "user": {"messages": [{"role": "user", "content": "Hello!"}]},
    "system-user": {"messages": [SYSTEM, {"role": "user", "content": "What is 2+2?"}]},
    "multi-turn": {"messages": [
        SYSTEM,
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "2+2 equals 4."},
        {"role": "user", "content": "And times 3?"},
    ]},
    "multi-turn-no-system": {"messages": [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ]},
    "unicode-whitespace": {"messages": [
        {"role": "system", "content": "  Réponds en français.\n"},
        {"role": "user", "content": "  日本語 🦙 \"quotes\" 'single' \\ back\tslash\n\n"},
        {"role": "assistant", "content": "\nD'accord ✓ <b>ok</b>  "},
        {"role": "user", "content": "{{ not a template }} {% raw %}"},
    ]},
    "tools": {"tools": [WEATHER_TOOL], "messages": [
        SYSTEM,
        {"role": "user", "content": "What's the weather in Paris?"},
    ]},
    "tool-call": {"tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 22}"},
    ]},
    "tool-call-string-arguments": {"tools": [WEATHER_TOOL], "messages": [
        SYSTEM,
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            dict(CALL, function={"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}),
            dict(CALL, id="call67890", function={"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"})]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "22"},
        {"role": "tool", "tool_call_id": "call67890", "name": "get_weather", "content": "9"},
        {"role": "assistant", "content": "Paris 22, Oslo 9."},
    ]},
}

# bos/eos per template family (transformers passes the tokenizer's special tokens; these are the models' own).
SPECIAL = [
    ("meta-llama-", "<|begin_of_text|>", "<|eot_id|>"),
    ("NousResearch-", "<|begin_of_text|>", "<|im_end|>"),
    ("fireworks-", "<|begin_of_text|>", "<|eot_id|>"),
    ("meetkai-", "<|begin_of_text|>", "<|eot_id|>"),
    ("deepseek-", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("llama-cpp-deepseek", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    ("Qwen-", "", "<|im_end|>"),
    ("google-gemma", "<bos>", "<eos>"),
    ("microsoft-Phi", "<s>", "<|endoftext|>"),
    ("CohereForAI-", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    ("ibm-granite", "<|end_of_text|>", "<|end_of_text|>"),
    ("moonshotai-", "[BOS]", "[EOS]"),
    ("openai-gpt-oss", "<|startoftext|>", "<|return|>"),
]


def special_tokens(name):
    for prefix, bos, eos in SPECIAL:
        if name.startswith(prefix):
            return bos, eos
    return "<s>", "</s>"


def main() -> int:
    names = sorted(p.name for p in TEMPLATES.glob("*.jinja"))
    if not names:
        sys.exit(f"make-template-goldens: no templates in {TEMPLATES}; run Tools/setup.sh first")
    cases = []
    for name in names:
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        bos, eos = special_tokens(name)
        for conv_name, conv in CONVERSATIONS.items():
            if "tools" in conv and "tools" not in source:
                continue
            for add in (False, True):
                case = {"template": name, "conversation": conv_name, "add_generation_prompt": add,
                        "bos_token": bos, "eos_token": eos}
                messages = ctu._normalize_chat_messages(json.loads(json.dumps(conv["messages"])))
                try:
                    rendered, _ = ctu.render_jinja_template(
                        conversations=[messages], tools=conv.get("tools"), documents=None, chat_template=source,
                        add_generation_prompt=add, bos_token=bos, eos_token=eos)
                    case["output"] = rendered[0]
                except Exception as e:  # the template refuses this conversation: ours must refuse it too
                    case["error"] = {"type": type(e).__name__, "message": str(e)}
                cases.append(case)
    doc = {
        "about": "Chat templates rendered by transformers' render_jinja_template (made by Tools/make-template-goldens.py)",
        "jinja2": jinja2.__version__,
        "transformers": transformers.__version__,
        "date": "%04d-%02d-%02d" % DATE,
        "templates": {n: hashlib.sha256((TEMPLATES / n).read_bytes()).hexdigest() for n in names},
        "conversations": CONVERSATIONS,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum(1 for c in cases if "error" in c)
    print(f"make-template-goldens: {len(cases)} cases ({errors} raise) over {len(names)} templates -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
