// Which kernels tfjs's registered gradients need that tfjs-backend-wasm lacks, derived from tfjs's own
// registries (the list in src/shared/kernels/index.ts's header): each gradient is traced on cpu, its
// kernels are set against wasm's, and every gradient then runs on wasm and matches cpu.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { WASM_GRADIENT_GAPS, WASM_GRADIENT_KERNELS } from '../../../src/shared/kernels/index.js';
import { assertClose } from '../../helpers/assert.js';
import { useBackend, withBackend } from '../../helpers/env.js';
import { gradientRegistry, PROBES, runProbe, WASM_OWN_WRONG } from './gradient-probes.js';

type RunKernel = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];

/**
 * Runs every probe on cpu and returns, per kernel whose gradient ran, the kernels that gradient called. Ops run
 * their kernels through the engine's runKernel, and a gradient runs in its gradFunc and in the
 * closures that returns, so wrapping both attributes every call to the gradient running it.
 */
function traceGradients(): Map<string, Set<string>> {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const registry = gradientRegistry();
  const calls = new Map<string, Set<string>>();
  const running: string[] = [];
  const within = <R>(kernel: string, fn: () => R): R => {
    running.push(kernel);
    try {
      return fn();
    } finally {
      running.pop();
    }
  };
  const originals = new Map([...registry].map(([k, config]) => [k, config.gradFunc]));
  const runKernel = engine.runKernel;
  engine.runKernel = (name, inputs, attrs) => {
    const by = running.at(-1);
    if (by) calls.get(by)!.add(name);
    return runKernel.call(engine, name, inputs, attrs);
  };
  try {
    for (const [k, config] of registry) {
      const gradFunc = originals.get(k)!;
      config.gradFunc = (dy, saved, attrs) => {
        if (!calls.has(k)) calls.set(k, new Set());
        const byInput = within(k, () => gradFunc(dy, saved, attrs));
        const wrap = (g: () => tf.Tensor) => () => within(k, g);
        return (Array.isArray(byInput) ? byInput.map(wrap) : Object.fromEntries(Object.entries(byInput).map(([n, g]) => [n, wrap(g)]))) as ReturnType<tf.GradConfig['gradFunc']>;
      };
    }
    for (const [k, probe] of Object.entries(PROBES)) runProbe(k, probe);
  } finally {
    engine.runKernel = runKernel;
    for (const [k, gradFunc] of originals) registry.get(k)!.gradFunc = gradFunc;
  }
  return calls;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
const ADDED = new Set(WASM_GRADIENT_KERNELS.map((k) => k.kernelName));
/** What tfjs-backend-wasm itself registers (this module's kernels taken out again). */
const wasmOwn = () => new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName).filter((k) => !ADDED.has(k)));

describe('wasm gradient kernels: coverage derived from the gradient registry', () => {
  withBackend('wasm');

  it('has a probe for every kernel with a registered gradient', () => {
    assert.deepEqual(sorted(Object.keys(PROBES)), sorted(gradientRegistry().keys()));
  });

  it('the kernels the gradients call that wasm lacks are exactly those added here', async () => {
    await useBackend('cpu');
    const calls = traceGradients();
    const own = wasmOwn();
    const missing: Record<string, string[]> = {};
    assert.deepEqual(sorted(calls.keys()), sorted(gradientRegistry().keys()), 'every probe ran its gradient');
    for (const [k, used] of calls) {
      const lacking = sorted([...used].filter((u) => !own.has(u)));
      if (lacking.length) missing[k] = lacking;
    }
    assert.deepEqual(missing, {
      Conv2D: ['Conv2DBackpropFilter'],
      Conv2DBackpropInput: ['Conv2DBackpropFilter'],
      DepthwiseConv2dNative: ['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput'],
      // gradpool's second-order gradients of the two (src/shared/gradients/) call each other.
      DepthwiseConv2dNativeBackpropFilter: ['DepthwiseConv2dNativeBackpropInput'],
      DepthwiseConv2dNativeBackpropInput: ['DepthwiseConv2dNativeBackpropFilter'],
      GatherV2: ['UnsortedSegmentSum'],
    });
    assert.deepEqual(sorted(new Set(Object.values(missing).flat())), sorted(ADDED));
  });

  it('the kernels with gradients that wasm still lacks are the documented gaps', () => {
    const now = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
    assert.deepEqual(sorted([...gradientRegistry().keys()].filter((k) => !now.has(k))), sorted(Object.keys(WASM_GRADIENT_GAPS)));
  });

  it("every registered gradient runs on wasm and matches cpu's, but for wasm's own wrong kernels", async () => {
    await useBackend('cpu');
    const want = Object.entries(PROBES).map(([k, p]) => runProbe(k, p));
    await useBackend('wasm');
    const wrong: string[] = [];
    Object.entries(PROBES).forEach(([k, p], i) => {
      const got = runProbe(k, p);
      assert.equal(got.length, want[i]!.length, k);
      // Loose: wasm's transcendental functions differ from cpu's in the last bits; this checks that
      // each gradient runs and is right, the kernels' own tests check their precision.
      got.forEach((g, j) => {
        try {
          assertClose(g, want[i]![j]!, { rtol: 1e-4, atol: 1e-6 }, `gradient of ${k}, input ${j}`);
        } catch {
          wrong.push(`${k}/${j}`);
        }
      });
    });
    assert.deepEqual(wrong, Object.keys(WASM_OWN_WRONG));
  });
});
