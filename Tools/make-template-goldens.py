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


# Single constructs, each rendered in transformers' environment (the same _compile_jinja_template) with VARS.
VARS = {"s": "  Héllo, World  ", "n": 7, "f": 2.5, "l": [3, 1, 2], "e": [], "none": None, "t": True,
        "d": {"b": 2, "a": 1, "items": "x", "C": 3}, "msgs": [{"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo", "extra": None}, {"role": "user", "content": " bye "}],
        "u": "日本語 🦙 \"q\" <b>&", "big": 12345678901234, "fl": [0.1, 1e-07, 1e+20, 100.0, -0.0, 1.5e16]}
SNIPPETS = [
    "{{ s|trim }}|{{ s|upper }}|{{ s|lower }}|{{ s|title }}|{{ s|capitalize }}|{{ s|length }}",
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip(' H') }}|{{ s.split(',') }}|{{ s.split() }}",
    "{{ 'a,b,,c'.split(',', 1) }}{{ 'a b'.startswith('a') }}{{ 'a b'.endswith(('x', 'b')) }}{{ 'abcabc'.replace('b', 'X') }}",
    "{{ 'x'.upper() ~ 'Y'.lower() ~ 'ab cd'.title() }}{{ 'abc'.find('c') }}{{ 'abcabc'.count('b') }}{{ '-'.join(['a','b']) }}",
    "{{ l }}{{ l|length }}{{ l|first }}{{ l|last }}{{ l|sort }}{{ l|sort(reverse=true) }}{{ l|list }}{{ l|join(', ') }}",
    "{{ l[0] }}{{ l[-1] }}{{ l[1:] }}{{ l[::-1] }}{{ l[:-1] }}{{ s[::-1] }}{{ s[2:5] }}{{ l[5] }}|{{ s[::2] }}",
    "{{ d }}|{{ d|length }}|{{ d.items() }}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 9) }}",
    "{{ d['items'] }}|{{ d.a }}|{{ d['a'] }}|{{ d.zz is defined }}|{{ d|dictsort }}|{{ d|dictsort(reverse=true) }}",
    "{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}",
    "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
    "{% for x in l %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }};{% endfor %}",
    "{% for x in l if x > 1 %}{{ x }}{{ loop.index }}/{{ loop.length }} {% endfor %}",
    "{% for x in e %}{{ x }}{% else %}empty{% endfor %}{% for x in l %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}{% for a in [[1,2],[3,4]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}{% endfor %}",
    "{% set x = 1 %}{% for i in l %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(c=0, found=false) %}{% for i in l %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}{{ ns.found }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t2 = (1, 2) %}{{ t2 }}{{ (1,) }}{{ () }}",
    "{% set block %}\n  inner {{ n }}  \n{% endset %}[{{ block }}]{% set b2 | upper %}abc{% endset %}{{ b2 }}",
    "{% macro m(a, b=2, c='x') %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}{{ m(1, 3) }}{{ m(1, c='y') }}{{ m(b=5, a=0) }}",
    "{% macro r(k) %}{% if k > 0 %}{{ k }}{{ r(k - 1) }}{% endif %}{% endmacro %}{{ r(4) }}",
    "{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}{% if none %}x{% elif t %}y{% endif %}",
    "{{ 'yes' if t else 'no' }}{{ 'a' if none }}|{{ n if n > 100 else -n }}",
    "{{ 1 + 2 * 3 }}{{ (1 + 2) * 3 }}{{ 7 // 2 }}{{ -7 // 2 }}{{ 7 % 3 }}{{ -7 % 3 }}{{ 7 / 2 }}{{ 2 ** 10 }}{{ 2 ** 3 ** 2 }}{{ 10 / 4 * 2 }}",
    "{{ f * 2 }}{{ f + n }}{{ n - f }}{{ 1 == 1.0 }}{{ true == 1 }}{{ 'a' ~ 1 ~ none ~ t }}{{ 'ab' * 3 }}{{ [1] * 2 }}{{ [1] + [2] }}",
    "{{ 'b' in 'abc' }}{{ 2 in l }}{{ 'a' in d }}{{ 'z' not in d }}{{ 4 not in l }}{{ 1 < 2 < 3 }}{{ 'a' < 'b' }}{{ [1, 2] < [1, 3] }}",
    "{{ not t }}{{ t and n }}{{ none or 'dflt' }}{{ e or l }}{{ 0 and 1 }}{{ -n }}{{ +n }}",
    "{{ none }}|{{ t }}|{{ n }}|{{ f }}|{{ fl }}|{{ big }}|{{ l }}|{{ msgs }}|{{ undefined_name }}|{{ u }}",
    "{{ fl|tojson }}{{ d|tojson }}{{ msgs|tojson }}{{ u|tojson }}{{ none|tojson }}{{ t|tojson }}{{ 'x'|tojson }}",
    "{{ d|tojson(indent=2) }}|{{ msgs|tojson(indent=4) }}|{{ e|tojson(indent=2) }}|{{ {}|tojson(indent=2) }}",
    "{{ d|tojson(sort_keys=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ u|tojson(ensure_ascii=true) }}|{{ d|tojson(indent='\t') }}",
    "{{ msgs|selectattr('role', 'equalto', 'user')|list }}{{ msgs|rejectattr('role', 'equalto', 'user')|list|length }}",
    "{{ msgs|map(attribute='role')|list }}{{ msgs|map(attribute='content')|join('|') }}{{ l|map('string')|join }}{{ [' a ', 'b ']|map('trim')|list }}",
    "{{ l|select('odd')|list }}{{ l|reject('odd')|list }}{{ msgs|selectattr('extra')|list }}{{ msgs|selectattr('extra', 'none')|list|length }}",
    "{{ [1, 2, 1, 3]|unique|list }}{{ l|reverse|list }}{{ l|sum }}{{ l|min }}{{ l|max }}{{ -3|abs }}{{ l|map('abs')|sum }}",
    "{{ '42'|int + 1 }}{{ '4.7'|int }}{{ 'x'|int }}{{ 'x'|int(5) }}{{ 3.9|int }}{{ '2.5'|float }}{{ 2|float }}{{ 2.567|round(2) }}{{ 2.5|round }}{{ 3.5|round }}",
    "{{ n|string ~ '!' }}{{ none|string }}{{ t|string }}{{ l|string }}{{ undefined_name|default('dv') }}{{ none|default('dv') }}{{ ''|default('dv', true) }}",
    "{{ 'line1\nline2\n\nline4'|indent }}|{{ 'a\nb'|indent(2, true) }}|{{ 'a\n\nb'|indent(width='> ', blank=true) }}",
    "{{ 'a&b'|safe }}{{ ('x'|safe + '<y>') }}{{ '<z>' + 'w'|safe }}{{ 'q'|e }}",
    "{{ n is defined }}{{ zz is defined }}{{ zz is undefined }}{{ none is none }}{{ s is string }}{{ d is mapping }}{{ l is iterable }}{{ s is iterable }}{{ zz is iterable }}{{ n is iterable }}",
    "{{ l is sequence }}{{ d is sequence }}{{ n is number }}{{ f is number }}{{ t is number }}{{ t is boolean }}{{ n is integer }}{{ f is float }}{{ n is odd }}{{ n is even }}{{ 9 is divisibleby 3 }}",
    "{{ 'a' is in 'abc' }}{{ 2 is in l }}{{ n is equalto 7 }}{{ n is eq 7 }}{{ n is ne 7 }}{{ n is gt 3 }}{{ n is lt 3 }}{{ n is not none }}{{ none is sameas none }}{{ 'ab' is lower }}{{ 'AB' is upper }}",
    "{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(5, 0, -2)|list }}{{ dict(a=1, b=2) }}{{ dict(d) == d }}",
    "{{ raise_exception('custom failure') }}",
    "{{ zz.attr }}",
    "{{ l + 'x' }}",
    "{{ 'x' + 1 }}",
    "{{ none|length }}",
    "{% for x in none %}{% endfor %}",
    "{{ strftime_now('%d %b %Y|%Y-%m-%d|%B %d, %Y|%A %a %j %H:%M:%S') }}",
    "a\n  {% if t %}\n    b\n  {% endif %}\n  c {# comment #}\n  {#- trimmed #} d\n",
    "  {%- if t -%}  x  {%- endif -%}  |{{- ' y ' -}}  |  {%+ if t %}z{% endif %}\n{% if t +%}\nw{% endif %}",
    "{% raw %}{{ not evaluated }}{% endraw %}|{{ '{{' }}|{{ \"\\n\\t\\x41\\u00e9\\\\\" }}|{{ 'it\\'s' }}",
    "\n\n{% for m in msgs %}\n  - {{ m.role }}: {{ m.content|trim }}\n{% endfor %}\n",
    "{% filter upper %}abc {{ n }}{% endfilter %}{% generation %}gen{% endgeneration %}",
    "{{ d.items is defined }}{{ d.items() is iterable }}{{ d.keys()|length }}{{ 'a' in d.keys() }}{{ d.values()|first }}",
    "{{ 'x'.nosuch }}|{{ d.nosuch }}|{{ l.nosuch is defined }}",
    "{{ l.append(4) }}",
    "{% set ns = namespace() %}{% set ns._x = 1 %}",
    "{{ l|nosuchfilter }}",
    "{% if t %}{{ l|nosuchfilter }}{% endif %}",
    "{% if false %}{{ l|nosuchfilter }}{% endif %}ok",
    "{{ n is nosuchtest }}",
    "{% for %}",
    "{{ (1 }}",
    "{% if t %}unclosed",
    "{{ 'a' 'b' }}{{ 1_000 }}{{ 1e3 }}{{ 0.5 }}{{ .5 if false else 1 }}",
    "{{ msgs[0]['content'] + '!' }}{{ msgs[1].extra }}{{ msgs[1].extra is none }}{{ msgs[9] is defined }}",
    "{% macro f() %}{{ caller() }}{% endmacro %}{% call f() %}called{% endcall %}",
    "{{ range(200000)|length }}",
    "{{ '%s-%d'|format(1, 2) if false else 'skip' }}{{ 'a %s b' % 'X' }}{{ '%s=%r' % ('k', 'v') }}",
    "{{ [3, 1, 2]|sort|first }}{{ ['b', 'A', 'c']|sort }}{{ ['b', 'A', 'c']|sort(case_sensitive=true) }}{{ msgs|sort(attribute='content')|map(attribute='content')|list }}",
    "{{ 'Hello World'|replace('o', '0') }}{{ 'aaa'|replace('a', 'b', 2) }}{{ 'hello world foo'|wordcount }}{{ 'ab'|center(6) }}|",
    "{{ l|batch(2)|list }}",
    "{{ 1 / 0 }}",
    "{{ {'a': 1}|items|list }}{{ zz|items|list }}{{ {'k': [1, {'z': none}]}|tojson }}",
    # slice, groupby, format, truncate (jinja2 filters.py sync_do_slice, sync_do_groupby, do_format, do_truncate)
    "{{ range(7)|slice(3)|list }}|{{ range(6)|slice(3, 'x')|list }}|{{ range(7)|slice(3, fill_with=0)|list }}|{{ e|slice(2)|list }}|{{ l|slice(5)|list }}|{{ l|slice(-1)|list }}",
    "{% for col in 'abcde'|slice(2) %}[{{ col|join }}]{% endfor %}{{ d|slice(2)|list }}",
    "{{ l|slice(0)|list }}",
    "{{ l|slice('2')|list }}",
    "{% for g in msgs|groupby('role') %}{{ g.grouper }}:{{ g.list|map(attribute='content')|join(',') }};{% endfor %}",
    "{% for role, items in msgs|groupby('role') %}{{ role }}={{ items|length }} {% endfor %}{{ msgs|groupby('role')|length }}|{{ (msgs|groupby('role'))[0][0] }}",
    "{{ [{'c': 'CA'}, {'c': 'NY'}, {'c': 'ca'}, {'c': 'Ny'}]|groupby('c') }}|{{ [{'c': 'CA'}, {'c': 'NY'}, {'c': 'ca'}]|groupby('c', case_sensitive=true) }}",
    "{{ [{'a': {'b': 2}}, {'a': {'b': 1}}, {'a': {'b': 2}, 'x': 1}]|groupby('a.b') }}|{{ [[1, 'x'], [0, 'y'], [1, 'z']]|groupby(0) }}",
    "{{ [{'k': 1}, {'z': 2}, {'k': 1}]|groupby('k', default=5) }}|{{ (msgs|groupby('role'))[0] == ('assistant', [msgs[1]]) }}|{{ (msgs|groupby('role'))[1].list|length }}",
    "{{ [{'z': 2}, {'k': 1}]|groupby('k') }}",
    "{{ msgs|groupby('role')|first|string }}|{{ (msgs|groupby('role'))[0]|tojson }}",
    "{{ '%s, %s!'|format('Hello', 'World') }}|{{ '%d|%5d|%-5d|%05d|%+d|% d|%.3d'|format(42, 42, 42, 42, 42, 42, 42) }}|{{ '%i %d'|format(3.99, -2.5) }}",
    "{{ '%f|%.2f|%10.3f|%-10.1f|%010.2f|%+.1f|%.0f|%#.0f|%f'|format(3.14159, 2.675, -1.5, 2.25, -3.14159, 2, 0.5, 0.5, 1e20) }}",
    "{{ '%x|%X|%#x|%#X|%08x|%-6x|%x'|format(255, 255, 255, 255, 255, 255, -255) }}|{{ '%r|%s|%r|%5s|%-5s|%.2s|%%'|format('a', none, [1, 'b'], 'ab', 'ab', 'xyz') }}",
    "{{ '%(name)s is %(age)d, %(name)r'|format(name='Ann', age=30) }}|{{ '%s'|format(true) }}|{{ '%d'|format(true) }}|{{ 'plain'|format() }}|{{ '%s %s' % ('a', 'b') }}|{{ '%(x)s' % {'x': 1} }}|{{ 'abc' % {'x': 1} }}",
    "{{ '%s %s'|format(1, b=2) }}",
    "{{ '%s %s'|format(1) }}",
    "{{ '%s'|format(1, 2) }}",
    "{{ '%d'|format('x') }}",
    "{{ '%x'|format(1.5) }}",
    "{{ '%(k)s'|format(j=1) }}",
    "{{ 'foo bar baz qux'|truncate(9) }}|{{ 'foo bar baz qux'|truncate(9, True) }}|{{ 'foo bar baz qux'|truncate(11) }}|{{ 'foo bar baz qux'|truncate(11, False, '...', 0) }}",
    "{{ s|truncate(5) }}|{{ s|truncate(5, leeway=0) }}|{{ s|truncate(8, true, '>', 0) }}|{{ u|truncate(6, leeway=0) }}|{{ ('x' * 300)|truncate|length }}|{{ 'abcdefghij'|truncate(3, leeway=0) }}|{{ 'nospacesatall'|truncate(7, leeway=0, end='') }}",
    "{{ 'hello world'|truncate(2) }}",
    "{{ 'hello world'|truncate(5, leeway=-1) }}",
]


# OpenAI chat requests with tools as `npu-llama serve` receives them (arguments as JSON strings, content null beside
# tool_calls), and the prompt it must render: transformers' rendering of the messages with tools=request["tools"],
# after the two adjustments llama.cpp's server makes (vendor/minja/chat-template.hpp): an arguments string is parsed
# into an object when the template cannot render a string (requires_object_arguments: it never tests
# `arguments is string`), and an assistant message's null content beside tool_calls is given as "" (Qwen3's
# template concatenates it; transformers would raise on the missing key).
OPENAI_TEMPLATES = ["meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
                    "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja",
                    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"]
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "description": "The time in a time zone.",
             "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}}}
OPENAI_REQUESTS = {
    "tools-only": {"tools": [WEATHER_TOOL, TIME_TOOL], "messages": [
        SYSTEM, {"role": "user", "content": "What's the weather in Paris?"}]},
    "call-and-result": {"tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\": 22}"}]},
    "two-calls-then-answer": {"tools": [WEATHER_TOOL, TIME_TOOL], "messages": [
        SYSTEM,
        {"role": "user", "content": "Weather in Oslo, and the time there?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
            {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": \"Europe/Oslo\", \"n\": [1, 2.5, null]}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "9 degrees"},
        {"role": "tool", "tool_call_id": "c2", "content": "14:05"},
        {"role": "assistant", "content": "9 °C and 14:05 in Oslo."},
        {"role": "user", "content": "Thanks!"}]},
}


def openai_to_transformers(messages, source):
    object_arguments = "arguments is string" not in source
    out = []
    for m in json.loads(json.dumps(messages)):
        if m.get("tool_calls") and m.get("content") is None:
            m["content"] = ""
        for call in m.get("tool_calls") or []:
            if object_arguments and isinstance(call["function"].get("arguments"), str):
                call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        out.append(m)
    return out


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
    openai_cases = []
    for name in OPENAI_TEMPLATES:
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        bos, eos = special_tokens(name)
        for req_name, req in OPENAI_REQUESTS.items():
            case = {"template": name, "request": req_name, "bos_token": bos, "eos_token": eos}
            messages = ctu._normalize_chat_messages(openai_to_transformers(req["messages"], source))
            try:
                rendered, _ = ctu.render_jinja_template(
                    conversations=[messages], tools=req["tools"], documents=None, chat_template=source,
                    add_generation_prompt=True, bos_token=bos, eos_token=eos)
                case["output"] = rendered[0]
            except Exception as e:
                case["error"] = {"type": type(e).__name__, "message": str(e)}
            openai_cases.append(case)
    env_render = lambda src: ctu._compile_jinja_template(src).render(**VARS)
    snippets = []
    for src in SNIPPETS:
        case = {"template": src}
        try:
            case["output"] = env_render(src)
        except Exception as e:
            case["error"] = {"type": type(e).__name__, "message": str(e)}
        snippets.append(case)
    doc = {
        "about": "Chat templates rendered by transformers' render_jinja_template (made by Tools/make-template-goldens.py)",
        "jinja2": jinja2.__version__,
        "transformers": transformers.__version__,
        "date": "%04d-%02d-%02d" % DATE,
        "templates": {n: hashlib.sha256((TEMPLATES / n).read_bytes()).hexdigest() for n in names},
        "conversations": CONVERSATIONS,
        "cases": cases,
        "openai_requests": OPENAI_REQUESTS,
        "openai_cases": openai_cases,
        "snippet_variables": VARS,
        "snippets": snippets,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum(1 for c in cases if "error" in c)
    print(f"make-template-goldens: {len(cases)} cases ({errors} raise) over {len(names)} templates, "
          f"{len(snippets)} snippets ({sum(1 for c in snippets if 'error' in c)} raise) -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
