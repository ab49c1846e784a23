// The WebAssembly SIMD Adam/AdamW update against the JavaScript loop it replaces (float32 emulated
// with Math.fround): the same bits for every element, over block edges and odd slice ends, at steps
// where the bias corrections are large, small and 1, on ordinary, tiny (subnormal), huge, zero and
// signed-zero values; NaNs agree as NaNs (wasm may canonicalise their payload).
import assert from 'node:assert/strict';
import { adam, adamw } from '../../src/optim/index.js';
import { adamConstants, adamLoop } from '../../src/optim/adam.js';
import { adamSimd } from '../../src/optim/adam-simd.js';
import { Rng } from '../../src/rng.js';

const N = 3 + 4096 * 2 + 7;
const rng = new Rng(5);
/** Values of every kind, mixed: most ordinary, some at the edges of float32. */
function values(scale: number): Float32Array {
  const edge = [0, -0, 1e-40, -3e-42, 1.4e-45, 3e38, -3e38, 1e20, 1e-20];
  return Float32Array.from({ length: N }, (_, i) => (i % 17 === 0 ? edge[(i / 17) % edge.length]! : rng.normal() * scale));
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: SIMD ${a[i]} (0x${ua[i]!.toString(16)}) vs loop ${b[i]} (0x${ub[i]!.toString(16)})`);
  }
}

describe('Adam SIMD kernel', () => {
  for (const [label, spec] of [
    ['adam', adam({ learningRate: 1e-3 })],
    ['adamw', adamw({ learningRate: 3e-2, weightDecay: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 })],
  ] as const) {
    it(`${label}: the JavaScript loop's bits at steps 1, 2, 37, 5000 and 30000, over block edges`, () => {
      for (const step of [1, 2, 37, 5000, 30000]) {
        const g = values(0.1);
        g[100] = NaN;
        const init = [values(1), g, values(0.01), values(1e-4).map(Math.abs)] as const;
        const simd = init.map((a) => a.slice());
        const loop = init.map((a) => a.slice());
        const c = adamConstants(spec, spec.learningRate as number, step);
        for (const [lo, hi] of [[0, 3], [3, N - 5], [N - 5, N]] as const) {
          assert.equal(adamSimd(c, simd[0]!, simd[1]!, simd[2]!, simd[3]!, lo, hi), true, 'WebAssembly SIMD is available on Node ≥ 20');
          adamLoop(c, loop[0]!, loop[1]!, loop[2]!, loop[3]!, lo, hi);
        }
        ['p', 'g', 'm', 'v'].forEach((what, k) => sameBits(simd[k]!, loop[k]!, `${label} step ${step} ${what}`));
      }
    });
  }
});
