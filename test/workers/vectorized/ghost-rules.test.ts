// Ghost clipping's per-layer rules in the executor, in process: each model's ghost-clipped chunk sum
// and per-sample norms against the loop executor's per-sample tf.grads with explicit clipping (the
// oracle), on cpu and wasm; the rule and form the probe reports per parameter, and the op it names
// when one has no rule; the embedding's step never materialising [n, V, D]; no leaks over 1,000 calls.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import type { ModelDef } from '../../../src/model/define.js';
import { LoopExecutor } from '../../../workers/executors/loop.js';
import { sumGradsByLoop } from '../../../workers/executors/sum.js';
import { createVectorizedExecutor } from '../../../workers/executors/vectorized/index.js';
import type { ChunkJob } from '../../../workers/executors/types.js';
import { ensureVmapBackend } from '../../../src/shared/batching/register.js';
import { liveCounts, useBackend } from '../../shared/batching/helpers.js';
import { assertClose } from '../../helpers/assert.js';
import { fixtureModel } from '../../helpers/env.js';
import { makeJob } from './models.js';

const N = 6;
const MODELS = ['ghost-sequence', 'ghost-embedding', 'ghost-conv', 'ghost-layernorm', 'embedding', 'seed'];

/** A chunk of `model` (token ids with repeats for the embedding models). */
async function job(name: string, n = N): Promise<ChunkJob> {
  const j = makeJob(await fixtureModel(name), n, 3);
  if (name.includes('embedding')) {
    const V = j.model.layout.shapes[0]![0]!;
    // Sample i repeats tokens: ids (i + 3t mod 4)·7 mod V, so each sample has at most 4 distinct ids.
    j.x = j.x.map((_, k) => ((((k % 6) * 3 + Math.floor(k / 6)) % 4) * 7 + Math.floor(k / 6)) % V);
  }
  return j;
}

/** The reference: per-sample gradients by the loop executor (tf.grads per sample), clipped in float64. */
function reference(j: ChunkJob, clip: number) {
  const row = new Float64Array(j.model.layout.total);
  const norms = new Float32Array(j.n);
  assert.equal(sumGradsByLoop(j, new LoopExecutor(), new Float32Array(j.n), norms, row, clip), -1);
  return { row, norms };
}

/** A clip between the two middle per-sample norms: half the samples are clipped. */
function medianClip(j: ChunkJob): number {
  const s = Array.from(reference(j, 1e9).norms).sort((a, b) => a - b);
  return (s[j.n / 2 - 1]! + s[j.n / 2]!) / 2;
}

const forms = (model: ModelDef, j: ChunkJob, backend: string) =>
  Object.fromEntries(createVectorizedExecutor(backend, false).ghostCoverage(j).params.map((p) => [p.param, `${p.rule} ${p.form}`])) as Record<string, string>;

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`vectorized executor: ghost-norm rules on ${backend}`, () => {
    before(() => useBackend(backend));

    for (const name of MODELS)
      it(`${name}: the ghost-clipped sum and norms equal a per-sample tf.grads loop's with explicit clipping`, async () => {
        const j = await job(name);
        try {
          const clip = medianClip(j);
          const want = reference(j, clip);
          const ex = createVectorizedExecutor(backend, false);
          // The batched ghost path must do it: its fallback (the per-sample reference) would agree too.
          ex.lossAndGrads = () => assert.fail('the ghost path fell back to the per-sample reference');
          // Three chunks: recorded, self-checked and replayed runs all agree.
          for (let r = 0; r < 3; r++) {
            const row = new Float64Array(j.model.layout.total);
            const norms = new Float32Array(N);
            assert.equal(ex.sumGrads({ ...j, ghost: true }, new Float32Array(N), norms, row, clip), -1);
            assertClose(norms, want.norms, { rtol: 1e-5 }, `${name} norms (run ${r})`);
            assertClose(row, want.row, { rtol: 1e-5, atol: 1e-7 }, `${name} clipped sum (run ${r})`);
          }
        } finally {
          j.params.forEach((t) => t.dispose());
        }
      });

    it('reports each parameter\'s rule and form: Gram where 2T² < M·P, scatter for embeddings, per-sample for conv filters, biases, scales', async () => {
      const want: Record<string, Record<string, string>> = {
        'ghost-sequence': { W1: 'dense gram', b1: 'bias per-sample', W2: 'dense per-sample', W3: 'dense gram' },
        'ghost-embedding': { E: 'embedding scatter', W: 'dense gram', b: 'bias per-sample' },
        'ghost-conv': { K: 'conv2d per-sample', bK: 'bias per-sample', D: 'depthwise conv per-sample', W: 'dense gram' },
        'ghost-layernorm': { W: 'dense gram', g: 'scale per-sample', s: 'bias per-sample', V: 'dense gram' },
        seed: { W: 'dense gram', b: 'bias per-sample' },
      };
      for (const [name, expected] of Object.entries(want)) {
        const j = await job(name, 2);
        try {
          assert.deepEqual(forms(j.model, j, backend), expected, name);
        } finally {
          j.params.forEach((t) => t.dispose());
        }
      }
    });

    it("names the kernel and parameter without a ghost-norm rule (tf.mul(x, w), w as large as x)", async () => {
      const j = await job('ghost-elementwise', 2);
      try {
        const c = createVectorizedExecutor(backend, false).ghostCoverage(j);
        assert.deepEqual(c.missing, [{ param: 'w', kernel: 'Multiply' }]);
        assert.deepEqual(c.params.map((p) => p.param), ['W']);
      } finally {
        j.params.forEach((t) => t.dispose());
      }
    });

    it('the embedding model\'s ghost step never materialises [n, V, D] (its per-sample step does)', async () => {
      const j = await job('ghost-embedding');
      const vm = ensureVmapBackend(backend);
      const orig = vm.callInner;
      let largest = 0;
      vm.callInner = function (k, i, a) {
        const out = orig.call(this, k, i, a);
        for (const o of Array.isArray(out) ? out : [out]) largest = Math.max(largest, tf.util.sizeFromShape(o.shape));
        return out;
      };
      const nVD = N * 50 * 8;
      try {
        const ex = createVectorizedExecutor(backend, false);
        const step = (ghost: boolean) => {
          largest = 0;
          assert.equal(ex.sumGrads({ ...j, ghost }, new Float32Array(N), new Float32Array(N), new Float64Array(j.model.layout.total), 0.1), -1);
          return largest;
        };
        assert.ok(step(false) >= nVD, 'the per-sample path writes the [n, V, D] per-sample table gradients');
        const ghostLargest = step(true);
        assert.ok(ghostLargest < 50 * 8, `ghost: largest inner tensor ${ghostLargest} values, below one [V, D] table (${50 * 8})`);
      } finally {
        delete (vm as { callInner?: unknown }).callInner;
        if (vm.callInner !== orig) vm.callInner = orig;
        j.params.forEach((t) => t.dispose());
      }
    });

    it('leaks no tensor over 1,000 ghost-clipped chunks (and the wasm heap stays put)', async () => {
      for (const name of ['ghost-sequence', 'ghost-embedding']) {
        const j = await job(name);
        try {
          const ex = createVectorizedExecutor(backend, false);
          const once = () => ex.sumGrads({ ...j, ghost: true }, new Float32Array(N), new Float32Array(N), new Float64Array(j.model.layout.total), 0.1);
          for (let i = 0; i < 10; i++) once();
          const before = liveCounts(backend);
          const heap = () => (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.byteLength ?? 0;
          const heapBefore = heap();
          for (let i = 0; i < 1000; i++) assert.equal(once(), -1);
          assert.deepEqual(liveCounts(backend), before, name);
          assert.equal(heap(), heapBefore, `${name}: wasm heap`);
        } finally {
          j.params.forEach((t) => t.dispose());
        }
      }
    });
  });
}
