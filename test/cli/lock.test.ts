// The output directory's lock, with real second processes: a second trainer on a running trainer's
// directory exits 2 naming the lock and the holder's pid and touches nothing; once the holder is
// SIGKILLed its lock is stale, and the next trainer takes it over with a warning.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type CliRun, makeJob, plainLines, runCli, snapshot, warningsOf } from './helpers.js';

describe('cli: one trainer per output directory', function () {
  it('a second trainer exits 2 naming the lock and its pid; a SIGKILLed holder\'s stale lock is taken over with a warning', async () => {
    const reference = makeJob();
    assert.equal((await runCli(['train', reference.job])).code, 0);

    const { dir, job } = makeJob();
    const out = join(dir, 'out');
    const lock = join(out, 'gradpool.lock');
    let second: CliRun | undefined;
    let during: Map<string, Buffer> | undefined;
    // The first trainer freezes after step 15 (its checkpoint at 10 written) and holds the lock; the
    // second starts exactly then, and the first is killed only once the second has finished.
    const first = await runCli(
      ['train', job],
      async (e, kill, pid) => {
        if (e.type !== 'hold') return;
        const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; host: string };
        assert.deepEqual([holder.pid, holder.host], [pid, hostname()]);
        during = snapshot(out);
        for (const args of [['train', job], ['train', job, '--resume'], ['train', job, '--fresh']]) {
          second = await runCli(args);
          assert.equal(second.code, 2, second.stderr);
          const [line, ...rest] = plainLines(second.stderr);
          assert.deepEqual(rest, []);
          assert.match(line!, new RegExp(`^gradpool: output\\.dir: locked by pid ${pid} on host ${hostname()} \\(since [^)]+\\): ${lock}; wait for that trainer to finish or stop it`));
        }
        kill('SIGKILL');
      },
      { GRADPOOL_TEST_HOLD_AT_STEP: '15' },
    );
    assert.equal(first.signal, 'SIGKILL');
    assert.ok(second, 'the second trainer ran');
    // The refused trainers changed nothing: the same files with the same bytes as while the first held the lock.
    assert.deepEqual(snapshot(out), during);

    const third = await runCli(['train', job, '--resume']);
    assert.equal(third.code, 0, third.stderr);
    assert.match(warningsOf(third)[0]!, new RegExp(`^output\\.dir: took over the stale lock ${lock} of pid ${first.pid} on host ${hostname()} \\(since [^)]+\\), which no longer runs$`));
    assert.equal(third.events.find((e) => e.type === 'resume')!.step, 10);
    assert.ok(readFileSync(join(out, 'final', 'weights.bin')).equals(readFileSync(join(reference.dir, 'out', 'final', 'weights.bin'))));
    assert.equal(existsSync(lock), false, 'the lock is released when the run ends');
  });
});
