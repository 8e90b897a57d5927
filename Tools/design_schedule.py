# Simulates one run of a recorded IRON design object by object — workers' event trees, memory-tile links, shim channels, the runtime sequence with its task groups — to find deadlocks and transfers freed while still running.
#
# Used by Tools/design_check.py (rule [schedule]). The model (counts of objects, no data, no time):
# - a fifo between two ends holds at most the producer side's buffers + the consumer side's buffers objects
#   (a core end: its buffer count, findObjectFifoSize; a memory-tile link: the wide fifo's depth; a shim: none);
# - a worker runs its traced body once (range_ loops expanded), blocking at an acquire until its objects exist (a
#   consumer) or fit (a producer);
# - a split link forwards part i of wide object k when sub i has room, and frees the wide buffer when every part
#   went; a join takes part i into the wide buffer of object k, and the wide object exists when every part arrived;
# - each runtime fill / drain is one task on its fifo's shim channel; a channel runs its tasks in issue order;
# - the runtime sequence issues tasks in order and stops at each finish_task_group until the group's awaited tasks
#   (wait=True) are complete (python/iron/runtime/runtime.py: awaits are emitted at the group's finish); then every
#   task the group frees must be complete too, since its buffer descriptor may be reused at once
#   (lib/Dialect/AIEX/Transforms/AIEAssignRuntimeSequenceBDIDs.cpp: dma_free_task returns the BD ids).
# A run succeeds when the sequence ends, every worker finished its body and every channel its tasks. Agents run
# until they block and are woken when a fifo they wait on changes. A channel whose next task is freed, not awaited,
# runs only when nothing else can: so a freed task found still running at its group's finish is one that nothing
# the group awaits depends on (some interleaving finishes the awaits first), not an accident of this schedule.
import collections
import math


class _Fifo:
    __slots__ = ("f", "name", "produced", "held", "cap_prod", "consumed", "cap_cons", "waiters")

    def __init__(self, f):
        self.f, self.name = f, f.name
        self.produced, self.held, self.cap_prod = 0, 0, 0
        self.consumed, self.cap_cons = {}, {}     # consumer key -> objects released / buffers on its side
        self.waiters = set()

    def slowest(self):
        return min(self.consumed.values()) if self.consumed else self.produced

    def room(self):
        """Objects the producer may still acquire."""
        cap = self.cap_prod + (min(self.cap_cons.values()) if self.cap_cons else 0)
        return cap - (self.produced + self.held - self.slowest())


def _lcm(xs):
    f = 1
    for x in xs:
        f = f * x // math.gcd(f, x)
    return f


class Simulation:
    def __init__(self, record, buffers):
        """buffers(handle, worker) -> the number of buffers a core-side fifo end has (design_check.endpoint_buffers)."""
        from aie.iron._record import Link, RuntimeEndpoint, Worker
        self.rt, self.problems = record.rt, []
        self.fifos = {}
        self.ready = collections.deque()
        self.lazy = collections.deque()     # channels whose next task is freed (not awaited): run last
        self.queued = set()
        handles = []
        for w in self.rt.started:
            handles += w.fifos
        for link in record.links:
            handles += link._srcs + link._dsts
        for t in self.rt.transfers:
            handles.append(t.handle)
        for h in handles:
            F = self.fifo(h.fifo)
            f = h.fifo
            prod = f._prod
            if prod is not None and isinstance(prod.endpoint, Worker):
                F.cap_prod = buffers(prod, prod.endpoint)
            for c in f._cons:
                e = c.endpoint
                if isinstance(e, Worker):
                    F.cap_cons[id(c)] = buffers(c, e)
                elif isinstance(e, Link):
                    F.cap_cons[id(c)] = e.wide.depth
                elif isinstance(e, RuntimeEndpoint):
                    F.cap_cons[id(c)] = 0
                else:
                    continue
                F.consumed.setdefault(id(c), 0)
        self.agents = []
        self.workers = [_WorkerAgent(self, w) for w in self.rt.started]
        self.agents += self.workers
        for link in record.links:
            self.agents.append(_SplitAgent(self, link) if link.split else _JoinAgent(self, link))
        self.channels = {}
        for t in self.rt.transfers:
            key = (id(t.handle.fifo), t.kind)
            if key not in self.channels:
                self.channels[key] = _ChannelAgent(self, t.handle.fifo, t.kind, t.handle)
        self.agents += self.channels.values()
        self.sequence = _SequenceAgent(self)
        self.agents.append(self.sequence)

    def fifo(self, f):
        F = self.fifos.get(id(f))
        if F is None:
            F = self.fifos[id(f)] = _Fifo(f)
        return F

    def wake(self, F):
        for a in F.waiters:
            self.push(a)
        F.waiters.clear()

    def push(self, a):
        if a not in self.queued:
            self.queued.add(a)
            lazy = isinstance(a, _ChannelAgent) and a.queue and not a.queue[0][0].wait
            (self.lazy if lazy else self.ready).append(a)

    def run(self, limit=50_000_000):
        for a in self.agents:
            self.push(a)
        steps = 0
        while self.ready or self.lazy:
            a = self.ready.popleft() if self.ready else self.lazy.popleft()
            self.queued.discard(a)
            a.run()
            steps += 1
            if steps > limit:
                self.problems.append(f"the simulation stopped after {limit} agent steps")
                return self.problems
        self.finish()
        return self.problems

    def finish(self):
        seq = self.sequence
        if not seq.done:
            blocked = [w.describe() for w in self.workers if not w.done]
            tasks = [c.describe() for c in self.channels.values() if c.queue]
            self.problems.append(
                f"deadlock: the runtime sequence waits at task group {seq.waiting_group} for "
                f"{seq.describe_wait()}; {'; '.join(blocked[:4])}{' ...' if len(blocked) > 4 else ''}"
                f"{'; pending ' + '; '.join(tasks[:4]) if tasks else ''}")
            return
        left = [w.describe() for w in self.workers if not w.done]
        if left:
            self.problems.append(f"the run ends (its sequence finished) with {len(left)} workers inside their body: "
                                 f"{'; '.join(left[:4])}")
        pending = [c.describe() for c in self.channels.values() if c.queue]
        if pending:
            self.problems.append(f"the run ends with shim tasks still running: {'; '.join(pending[:4])}")


class _WorkerAgent:
    def __init__(self, sim, w):
        self.sim, self.w, self.done = sim, w, False
        self.held = collections.Counter()
        self.stack = [[_prune(w.trace.tree), 0, 1]]     # [events, pc, iterations left]
        self.blocked = None

    def describe(self):
        return f"{self.w.name} at {self.w.tile} waits to acquire {self.blocked}" if self.blocked else f"{self.w.name} at {self.w.tile}"

    def run(self):
        sim = self.sim
        st = self.stack
        while st:
            frame = st[-1]
            events, pc = frame[0], frame[1]
            if pc == len(events):
                frame[2] -= 1
                if frame[2] > 0:
                    frame[1] = 0
                    continue
                st.pop()
                if st:
                    st[-1][1] += 1
                continue
            ev = events[pc]
            kind = ev[0]
            if kind == "label":
                frame[1] += 1
                continue
            if kind == "loop":
                if ev[1] == 0:
                    frame[1] += 1
                    continue
                body = ev[2]
                if len(body) == 2 and body[0][0] == "acq" and body[1][0] == "rel" and body[0][1] is body[1][1] \
                        and body[0][2] == 1 and body[1][2] == 1:
                    # a simple loop: acquire 1, release 1 of one handle, n times: as many at once as are available
                    left = ev[1] if len(frame) < 4 or frame[3] is not ev else frame[4]
                    h = body[0][1]
                    n = min(left, self._available(h))
                    if n > 0:
                        self._move(h, n)
                    left -= n
                    if left == 0:
                        if len(frame) > 3:
                            del frame[3:]
                        frame[1] += 1
                        continue
                    frame[3:] = [ev, left]
                    self.blocked = f"{h.name} ({'prod' if h.is_prod else 'cons'})"
                    sim.fifo(h.fifo).waiters.add(self)
                    return
                st.append([body, 0, ev[1]])
                continue
            h, n = ev[1], ev[2]
            F = sim.fifo(h.fifo)
            if kind == "acq":
                need = n - self.held[id(h)]
                if need > 0:
                    if (F.room() if h.is_prod else F.produced - F.consumed.get(id(h), 0) - self.held[id(h)]) < need:
                        self.blocked = f"{h.name} ({'prod' if h.is_prod else 'cons'})"
                        F.waiters.add(self)
                        return
                    self.held[id(h)] += need
                    if h.is_prod:
                        F.held += need
                frame[1] += 1
                continue
            # release
            self.held[id(h)] -= n
            if h.is_prod:
                F.held -= n
                F.produced += n
            else:
                F.consumed[id(h)] += n
            sim.wake(F)
            frame[1] += 1
        self.done, self.blocked = True, None

    def _available(self, h):
        F = self.sim.fifo(h.fifo)
        if h.is_prod:
            return max(0, F.room())
        return max(0, F.produced - F.consumed.get(id(h), 0))

    def _move(self, h, n):
        F = self.sim.fifo(h.fifo)
        if h.is_prod:
            F.produced += n
        else:
            F.consumed[id(h)] += n
        self.sim.wake(F)


def _prune(events):
    """The events that move objects: labels dropped, loops without acquires or releases (element copies) dropped."""
    out = []
    for ev in events:
        if ev[0] == "loop":
            body = _prune(ev[2])
            if body and ev[1]:
                out.append(("loop", ev[1], body))
        elif ev[0] != "label":
            out.append(ev)
    return out


class _SplitAgent:
    """Memory-tile split: wide fifo (consumed here) -> sub fifos (produced here)."""

    def __init__(self, sim, link):
        self.sim, self.link = sim, link
        self.wide = sim.fifo(link.wide.fifo)
        self.key = id(link.wide)
        self.subs = [sim.fifo(f) for f in link.subs]
        self.fwd = [0] * len(self.subs)

    def run(self):
        W = self.wide
        for i, S in enumerate(self.subs):
            n = min(W.produced - self.fwd[i], S.room())
            if n > 0:
                self.fwd[i] += n
                S.produced += n
                self.sim.wake(S)
            S.waiters.add(self)
        if min(self.fwd) > W.consumed[self.key]:
            W.consumed[self.key] = min(self.fwd)
            self.sim.wake(W)
        W.waiters.add(self)


class _JoinAgent:
    """Memory-tile join: sub fifos (consumed here) -> wide fifo (produced here, d wide buffers)."""

    def __init__(self, sim, link):
        self.sim, self.link = sim, link
        self.wide = sim.fifo(link.wide.fifo)
        self.depth = link.wide.depth
        self.subs = [(sim.fifo(h.fifo), id(h)) for h in link._srcs]

    def run(self):
        W = self.wide
        for S, key in self.subs:
            n = min(S.produced - S.consumed[key], self.depth - (S.consumed[key] - W.slowest()))
            if n > 0:
                S.consumed[key] += n
                self.sim.wake(S)
            S.waiters.add(self)
        made = min(S.consumed[key] for S, key in self.subs)
        if made > W.produced:
            W.produced = made
            self.sim.wake(W)
        W.waiters.add(self)


class _ChannelAgent:
    """One fifo's shim channel: its issued tasks in order."""

    def __init__(self, sim, f, kind, handle):
        self.sim, self.kind, self.handle = sim, kind, handle
        self.F = sim.fifo(f)
        self.key = id(next((c for c in f._cons if c.endpoint is not None and type(c.endpoint).__name__ == "RuntimeEndpoint"),
                           handle))
        self.queue = collections.deque()     # [task, objects left]

    def describe(self):
        t, left = self.queue[0]
        return f"the {self.kind} of {self.F.name} ({left} objects left, {len(self.queue)} tasks)"

    def run(self):
        F = self.F
        while self.queue:
            task = self.queue[0]
            if self.kind == "fill":
                n = min(task[1], F.room())
                if n > 0:
                    F.produced += n
            else:
                n = min(task[1], F.produced - F.consumed[self.key])
                if n > 0:
                    F.consumed[self.key] += n
            if n > 0:
                task[1] -= n
                self.sim.wake(F)
            if task[1] > 0:
                F.waiters.add(self)
                return
            self.queue.popleft()
            self.sim.completed(task[0])


class _SequenceAgent:
    def __init__(self, sim):
        self.sim, self.pc, self.done = sim, 0, False
        self.tasks = sim.rt.tasks
        self.complete, self.issued_in = set(), {}
        self.waiting_group, self.waiting = None, []

    def describe_wait(self):
        return ", ".join(f"the {t.kind} of {t.handle.name}" for t in self.waiting if id(t) not in self.complete)[:300]

    def run(self):
        sim = self.sim
        while self.pc <= len(self.tasks):
            # the end of the sequence finishes the default task group (Runtime.resolve)
            task = self.tasks[self.pc] if self.pc < len(self.tasks) else ("finish", None)
            if isinstance(task, tuple):
                group = task[1]
                mine = self.issued_in.get(group, [])
                waited = [t for t in mine if t.wait]
                if any(id(t) not in self.complete for t in waited):
                    self.waiting_group, self.waiting = group, waited
                    return
                freed = [t for t in mine if not t.wait and id(t) not in self.complete]
                if freed:
                    sim.problems.append(
                        f"task group {group} finishes while {len(freed)} of its freed tasks still run (the "
                        f"{freed[0].kind} of {freed[0].handle.name}{', ...' if len(freed) > 1 else ''}): their buffer "
                        f"descriptors may be reused at once (AIEAssignRuntimeSequenceBDIDs.cpp dma_free_task); await "
                        f"them or make an awaited task depend on them")
                self.waiting_group, self.waiting = None, []
                self.pc += 1
                continue
            key = (id(task.handle.fifo), task.kind)
            ch = sim.channels[key]
            size = task.handle.fifo.obj_type.nbytes
            n = task.tap.count * task.data.type.dtype.itemsize // size
            ch.queue.append([task, n])
            self.issued_in.setdefault(task.task_group, []).append(task)
            sim.push(ch)
            self.pc += 1
        self.done = True

    def on_complete(self, task):
        self.complete.add(id(task))
        if self.waiting and id(task) in {id(t) for t in self.waiting}:
            self.sim.push(self)


def _completed(self, task):
    self.sequence.on_complete(task)


Simulation.completed = _completed


def simulate(record, buffers):
    """Problems (messages) of one simulated run: [] when it completes."""
    return Simulation(record, buffers).run()
