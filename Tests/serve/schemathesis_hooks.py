"""Schemathesis hooks for the server's fuzz (test_schema_fuzz.py): requests name the served model (else nearly every
generated request would stop at 404 model_not_found), and positive answer lengths are capped at 4 tokens, so the time
budget buys many requests rather than a few long answers (the server's 3 s deadline bounds the rest). Values of the
wrong type are left as generated: the negative cases still reach the validation. Well-formed tool fields are made ones
the served SmolLM2 can take (its template never reads `tools`; a tool message needs its call's id; arguments must be
JSON text), so generated chats reach the device instead of stopping at those 400s (test_openai_client checks them) —
in positive cases only: a negative case's violation (say a role outside the enum) must reach the server untouched, or
the fuzz reports our own rewrite as "schema-violating request accepted" (schemathesis 4's CaseMetadata.components
says how each part of a case was generated)."""
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

SERVED_MODEL = "smollm2"
MAX_TOKENS = 4


@schemathesis.hook
def map_body(context, body):
    if isinstance(body, dict):
        if isinstance(body.get("model"), str):
            body["model"] = SERVED_MODEL
        for key in ("max_tokens", "max_completion_tokens"):
            value = body.get(key)
            if value is None and key == "max_tokens" and "max_completion_tokens" not in body:
                body[key] = MAX_TOKENS
            elif isinstance(value, int) and not isinstance(value, bool) and value > MAX_TOKENS:
                body[key] = MAX_TOKENS
    return body


@schemathesis.hook
def map_case(context, case):
    body = case.body
    if isinstance(body, dict) and _body_is_positive(case):
        _tame_tools(body)
        case.body = body        # assigned, so schemathesis re-hashes the changed body
    return case


def _body_is_positive(case):
    meta = case.meta
    if meta is None:
        return False
    component = meta.components.get(ParameterLocation.BODY)
    mode = component.mode if component is not None else meta.generation.mode
    return mode == GenerationMode.POSITIVE


def _is_str_or_none(v):
    return v is None or isinstance(v, str)


def _tame_tools(body):
    tools = body.get("tools")
    if isinstance(tools, list) and all(isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
                                       and isinstance(t["function"].get("name"), str) for t in tools):
        del body["tools"]
    if body.get("tool_choice") in ("required",) or isinstance(body.get("tool_choice"), dict):
        if isinstance(body.get("tool_choice"), dict) and not isinstance(body["tool_choice"].get("function"), dict):
            return
        body["tool_choice"] = "auto"
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for m in messages:
        if not isinstance(m, dict):
            continue
        if "content" in m and m["content"] is None and not m.get("tool_calls"):
            m["content"] = ""
        if m.get("role") == "tool" and m.get("tool_call_id") is None and isinstance(m.get("content"), (str, list)):
            m["tool_call_id"] = "call0"
        calls = m.get("tool_calls")
        if isinstance(calls, list):
            for c in calls:
                if isinstance(c, dict) and isinstance(c.get("function"), dict) and isinstance(c["function"].get("arguments"), str):
                    c["function"]["arguments"] = "{}"
            if calls and m.get("role") != "assistant" and isinstance(m.get("role"), str):
                m["role"] = "assistant"
