"""Schemathesis hooks for the server's fuzz (test_schema_fuzz.py): requests name the served model (else nearly every
generated request would stop at 404 model_not_found), and positive answer lengths are capped at 4 tokens, so the time
budget buys many requests rather than a few long answers (the server's 3 s deadline bounds the rest). Values of the
wrong type are left as generated: the negative cases still reach the validation."""
import schemathesis

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
