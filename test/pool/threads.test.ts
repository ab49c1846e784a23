// Runaway resources: `threads` is bounded (a warning above the cores, a refusal above MAX_THREADS that
// states the memory per worker), and every worker gets a default heap limit derived from the
// machine's memory and the thread count, which `resourceLimits` overrides.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';
import { GradPool } from '../../src/index.js';
import { defaultHeapLimitMb, MAX_THREADS, resolveOptions, WORKER_MEMORY_MB } from '../../src/options.js';
import { throwsExactly } from '../helpers/assert.js';
import { fixture } from '../helpers/env.js';

const model = fixture('seed');

describe('pool: threads are bounded', function () {
  it(`refuses more than ${MAX_THREADS} threads before starting any, stating what a worker costs`, () => {
    throwsExactly(
      () => resolveOptions({ model, threads: 1000 }),
      `threads: expected at most 256 (each worker costs about 55 MB of memory before any work: 1000 workers would take about 53.7 GB), got 1000`,
      'ERR_INVALID_OPTION',
    );
    assert.equal(resolveOptions({ model, threads: MAX_THREADS, backend: 'cpu' }).threads, MAX_THREADS);
    assert.equal(WORKER_MEMORY_MB, 55);
  });

  it('warns once per process (per thread count) above os.availableParallelism(), and not at or below it', () => {
    // A fresh process: the warning is once per process, and other tests may already have raised it here.
    const options = new URL('../../src/options.js', import.meta.url).href;
    const cores = availableParallelism();
    const script = `
      process.on('warning', (w) => console.log(JSON.stringify([w.name, w.message])));
      const { resolveOptions } = await import(${JSON.stringify(options)});
      for (const threads of [${cores}, ${cores + 1}, ${cores + 1}, 1]) resolveOptions({ model: 'm.js', threads });
      await new Promise((r) => setImmediate(r));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const warnings = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as [string, string]);
    const cpus = cores === 1 ? '1 core' : `${cores} cores`;
    assert.deepEqual(warnings, [
      ['GradPoolWarning', `threads: ${cores + 1} is more than the ${cpus} available (os.availableParallelism()); each extra worker costs about 55 MB of memory and adds no speed`],
    ]);
  });
});

describe('pool: the default heap limit of each worker', function () {
  it('is an eighth of the machine memory shared by the workers, within [256, 4096] MB', () => {
    const GB = 2 ** 30;
    assert.equal(defaultHeapLimitMb(2, 24 * GB), 1536);
    assert.equal(defaultHeapLimitMb(1, 64 * GB), 4096);
    assert.equal(defaultHeapLimitMb(64, 8 * GB), 256);
    assert.deepEqual(resolveOptions({ model, threads: 2 }).resourceLimits, { maxOldGenerationSizeMb: defaultHeapLimitMb(2, totalmem()) });
  });

  /** [maxOldGenerationSizeMb, V8's heap size limit in MB] as seen inside each worker (the fixture reports them). */
  async function limitsInWorkers(options: Parameters<typeof GradPool.create>[0]): Promise<number[][]> {
    const pool = await GradPool.create(options);
    try {
      const { data } = await pool.predict(new Float32Array(2)); // each sample reports the worker that ran it
      return [[...data.subarray(0, 2)], [...data.subarray(2, 4)]];
    } finally {
      await pool.close();
    }
  }

  it('is what the workers get without resourceLimits, and V8 enforces it', async () => {
    const want = defaultHeapLimitMb(2);
    for (const [old, heap] of await limitsInWorkers({ model: fixture('heap-limit'), threads: 2, backend: 'cpu', executor: 'loop', chunkSize: 1 })) {
      assert.equal(old, want);
      assert.ok(heap! >= want && heap! <= want + 128, `V8 heap limit ${heap} MB for an old generation of ${want} MB`);
    }
  });

  it('resourceLimits overrides it', async () => {
    for (const [old, heap] of await limitsInWorkers({ model: fixture('heap-limit'), threads: 2, backend: 'cpu', executor: 'loop', chunkSize: 1, resourceLimits: { maxOldGenerationSizeMb: 300 } })) {
      assert.equal(old, 300);
      assert.ok(heap! >= 300 && heap! <= 300 + 128, `V8 heap limit ${heap} MB for an old generation of 300 MB`);
    }
  });
});
