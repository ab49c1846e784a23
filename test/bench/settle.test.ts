// The PyTorch peer's wait for its OpenMP threads (bench/pytorch/settle.py), run with the machine's
// python3 (no torch needed): it replies only once no other thread was running at three checks in a
// row, gives up at its limit, and does not wait where thread states can't be read.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../../bench/pytorch/', import.meta.url));

/** Runs `code` with settle.py importable; returns what it printed as JSON. */
const python = (code: string): unknown => JSON.parse(execFileSync('python3', ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(DIR)})\nfrom settle import settle, other_threads_running\n${code}`], { encoding: 'utf8' }));

// A fake clock and reader of running threads: each sleep advances the clock by its argument; the
// reader returns the next of `running`, repeating the last.
const FAKE = `
class Fake:
    def __init__(self, running):
        self.t, self.running, self.reads = 0.0, running, 0
    def clock(self): return self.t
    def sleep(self, s): self.t += s
    def read(self):
        v = self.running[min(self.reads, len(self.running) - 1)]
        self.reads += 1
        return v
def run(running, **kw):
    f = Fake(running)
    ms, settled = settle(read=f.read, clock=f.clock, sleep=f.sleep, **kw)
    return {"ms": ms, "settled": settled, "reads": f.reads}
`;

describe('bench: the PyTorch peer waits for its threads to go idle (settle.py)', function () {
  this.timeout(30_000);

  it('waits while another thread runs, and replies after three checks in a row found none running', () => {
    // Checks 0.2 ms apart: one thread running at the first four, none at the fifth, one again, then none.
    const r = python(`${FAKE}\nprint(json.dumps(run([1, 1, 1, 1, 1, 0, 1, 0])))`) as { ms: number; settled: boolean; reads: number };
    assert.equal(r.settled, true);
    assert.equal(r.reads, 1 + 4 + 2 + 3, 'the first check, four busy, one quiet and one busy again, then three quiet');
    assert.ok(Math.abs(r.ms - 9 * 0.2) < 1e-9, `${r.ms} ms: nine waits of 0.2 ms`);
  });

  it('gives up at its limit while a thread keeps running, and says so', () => {
    const r = python(`${FAKE}\nprint(json.dumps(run([2], limit=0.01)))`) as { ms: number; settled: boolean };
    assert.equal(r.settled, false);
    assert.ok(r.ms >= 10 && r.ms < 10.2 + 1e-9, `${r.ms} ms`);
  });

  it('does not wait where thread states cannot be read', () => {
    assert.deepEqual(python(`print(json.dumps(settle(read=lambda: None)))`), [0, null]);
  });

  it("reads this machine's threads: one hashing (no GIL held) counts as running, one blocked on an event does not, nor does the caller", () => {
    // Each state is waited for (at most 5 s), not sampled once: a thread just started may still be
    // on its way to blocking, or not yet inside its hash.
    const r = python(`
import hashlib, threading, time
def until(want):
    end = time.monotonic() + 5
    while time.monotonic() < end:
        n = other_threads_running()
        if want(n): return n
        time.sleep(0.001)
    return other_threads_running()
alone = other_threads_running()
data, stop, idle = b"x" * (16 << 20), threading.Event(), threading.Event()
def work():
    while not stop.is_set(): hashlib.sha256(data).digest()  # hashes this size release the GIL
blocked = threading.Thread(target=idle.wait); blocked.start()
with_blocked = until(lambda n: n == 0)
busy = threading.Thread(target=work); busy.start()
with_busy = until(lambda n: n >= 1)
stop.set(); busy.join()
after = until(lambda n: n == 0)
idle.set(); blocked.join()
print(json.dumps({"alone": alone, "with_blocked": with_blocked, "with_busy": with_busy, "after": after}))`) as Record<string, number>;
    assert.deepEqual(r, { alone: 0, with_blocked: 0, with_busy: 1, after: 0 });
  });
});
