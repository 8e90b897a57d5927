"""A bounded load test: 16 concurrent clients × 4 requests each (half streamed) against a server with 4 waiting
places, two rounds. Every request completes with exactly its own greedy answer or is refused 429 with Retry-After; none
is lost or mixed up (each client asks for its own number: an answer holding another client's would show); /health
answers throughout; memory stays flat from one round to the next.

Figures (CPU reference, SmolLM2-135M-Instruct Q4_1, debug build, 2 cores): `Tools/serve-tests.sh -k load`
prints the 'load:' line in pytest's summary (CI logs keep it)."""
import asyncio
import statistics
import threading
import time
import urllib.request

import openai

from conftest import MODEL, REPORT

CLIENTS, REQUESTS_PER_CLIENT, MAX_TOKENS = 16, 4, 8


def number(c):
    """Client c's number: SmolLM2 answers "Say the number N." with "N is a number that ..." (greedy)."""
    return 4000 + 37 * c


def prompt(c):
    return f"Say the number {number(c)}."


async def one_request(api, c, n):
    """Returns ('completed', latency, text, id) or ('rejected', latency, retry_after, None); raises otherwise."""
    messages = [{"role": "user", "content": prompt(c)}]
    t0 = time.monotonic()
    try:
        if n % 2 == 0:
            r = await api.chat.completions.create(model=MODEL, messages=messages, temperature=0, max_tokens=MAX_TOKENS)
            text, rid = r.choices[0].message.content, r.id
            assert r.usage.completion_tokens <= MAX_TOKENS and r.choices[0].finish_reason in ("stop", "length")
        else:
            stream = await api.chat.completions.create(model=MODEL, messages=messages, temperature=0,
                                                       max_tokens=MAX_TOKENS, stream=True)
            parts, ids, finishes = [], set(), []
            async for chunk in stream:
                ids.add(chunk.id)
                if chunk.choices:
                    parts.append(chunk.choices[0].delta.content or "")
                    if chunk.choices[0].finish_reason:
                        finishes.append(chunk.choices[0].finish_reason)
            assert len(ids) == 1 and len(finishes) == 1, (ids, finishes)
            text, rid = "".join(parts), ids.pop()
        return "completed", time.monotonic() - t0, text, rid
    except openai.RateLimitError as e:
        assert e.status_code == 429 and e.code == "queue_full"
        retry_after = int(e.response.headers["retry-after"])
        assert retry_after >= 1
        return "rejected", time.monotonic() - t0, retry_after, None


async def run_round(server):
    api = openai.AsyncOpenAI(base_url=server.url("/v1"), api_key="unused", max_retries=0, timeout=120)

    async def client_loop(c):
        out = []
        for n in range(REQUESTS_PER_CLIENT):
            out.append(((c, n), await one_request(api, c, n)))
            await asyncio.sleep(0.05)
        return out

    results = await asyncio.gather(*(client_loop(c) for c in range(CLIENTS)), return_exceptions=True)
    await api.close()
    return results


class HealthProbe:
    """Polls /health every 50 ms in a thread; records the slowest answer and any failure."""

    def __init__(self, server):
        self.server, self.worst, self.failures, self.count, self.rss = server, 0.0, [], 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.server.url("/health"), timeout=5) as r:
                    assert r.status == 200
                self.worst = max(self.worst, time.monotonic() - t0)
                self.count += 1
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                self.failures.append(repr(e))
            self.rss.append(self.server.rss_kib())
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.thread.join()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def test_load(server, client):
    server.wait_idle()
    # Each client's answer, asked alone first (greedy: the load must give exactly these).
    alone = {c: client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt(c)}], temperature=0,
                                               max_tokens=MAX_TOKENS).choices[0].message.content for c in range(CLIENTS)}
    assert all(str(number(c)) in alone[c] for c in range(CLIENTS)), alone
    before = server.metrics()
    rss_start = server.rss_kib()
    probe = HealthProbe(server)
    rounds, rss_after = [], []
    t0 = time.monotonic()
    for _ in range(2):
        rounds.append(asyncio.run(run_round(server)))
        server.wait_idle(timeout=120)
        rss_after.append(server.rss_kib())
    wall = time.monotonic() - t0
    probe.finish()

    outcomes, lost = [], []
    for round_, results in enumerate(rounds):
        for r in results:
            if isinstance(r, BaseException):
                lost.append(repr(r))
            else:
                outcomes += [((round_, *key), value) for key, value in r]
    completed = [(key, v) for key, v in outcomes if v[0] == "completed"]
    rejected = [(key, v) for key, v in outcomes if v[0] == "rejected"]
    total = 2 * CLIENTS * REQUESTS_PER_CLIENT
    latencies = [v[1] for _, v in completed]
    figures = (f"load: {total} requests ({CLIENTS} clients x {REQUESTS_PER_CLIENT} x 2 rounds, --queue 4), "
               f"{len(completed)} completed, {len(rejected)} rejected (429), lost {total - len(completed) - len(rejected)}; "
               f"completed latency p50 {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s; "
               f"{wall:.1f} s wall; /health {probe.count} probes, slowest {probe.worst * 1000:.0f} ms; "
               f"RSS {rss_start // 1024} -> {rss_after[0] // 1024} -> {rss_after[1] // 1024} MiB "
               f"(CPU reference, SmolLM2-135M Q4_1, max_tokens {MAX_TOKENS})")
    REPORT.append(figures)

    assert not lost, lost
    assert len(completed) + len(rejected) == total
    assert completed and rejected, "the load fills the queue and the device serves"
    # Nothing mixed up: each answer is its own client's, exactly; ids are unique.
    assert len({v[3] for _, v in completed}) == len(completed)
    for (_, c, n), (_, _, text, _) in completed:
        assert text == alone[c], (c, n, text, alone[c])
    # The server counted the same.
    after = server.metrics()
    key = 'npu_llama_requests_total{endpoint="/v1/chat/completions",status="%d"}'
    assert after.get(key % 429, 0) - before.get(key % 429, 0) == len(rejected)
    assert after.get(key % 200, 0) - before.get(key % 200, 0) == len(completed)
    # /health answered every probe, promptly; memory is flat from one round to the next.
    assert not probe.failures, probe.failures[:3]
    assert probe.count > 10 and probe.worst < 1.0
    assert rss_after[1] - rss_after[0] < 16 * 1024, (rss_start, rss_after)
    assert max(probe.rss) - rss_start < 64 * 1024, (rss_start, max(probe.rss))
