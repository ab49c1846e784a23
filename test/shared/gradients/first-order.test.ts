// First-order gradients do not change by a bit when gradpool's second-order gradients replace tfjs's:
// every kernel's probe, with tfjs's configs (kept by installSecondOrderGradients before it replaced
// them) and with gradpool's, on cpu and wasm; both as a plain tf.grads and inside an outer gradient
// (where gradpool's configs recompute saved outputs and pause the tape for masks).
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { installSecondOrderGradients, SECOND_ORDER_GRADIENTS, tfjsGradient } from '../../../src/shared/gradients/index.js';
import { sameBytes } from '../../helpers/assert.js';
import { useBackend } from '../../helpers/env.js';
import { PROBES, probeArgs, runProbe, WASM_OWN_WRONG, type Probe } from '../kernels/gradient-probes.js';
import { gradientsAt } from './probe-gradients.js';
import { withTfjsGradients } from './tfjs-configs.js';

type FProbe = Extract<Probe, { f: unknown }>;

/** The probe's first-order gradients, plain or inside an outer gradient. */
const gradients = (probe: FProbe, outer: boolean) => gradientsAt(probe.f, probeArgs(probe), outer);

/**
 * Kernel/input pairs whose gradients differ between `a` and `b` in any bit. On wasm, not those whose
 * tfjs-wasm kernel is wrong (WASM_OWN_WRONG): Conv3DBackpropInputV2 leaves outputs unwritten, so its
 * result changes from run to run whichever gradient config calls it.
 */
function differing(a: Float32Array[][], b: Float32Array[][], kernels: string[]): string[] {
  const unreliable = (key: string) => tf.getBackend() === 'wasm' && key in WASM_OWN_WRONG;
  return kernels.flatMap((k, i) =>
    a[i]!.length !== b[i]!.length
      ? [`${k}: ${a[i]!.length} vs ${b[i]!.length} gradients`]
      : a[i]!.flatMap((g, j) => (sameBytes(g, b[i]![j]!) || unreliable(`${k}/${j}`) ? [] : [`${k}/${j}`])),
  );
}

type RunKernel = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];

/** The names of the kernels `fn` runs through the engine, in order (the clones that save tensors included). */
function kernelsRun(fn: () => unknown): string[] {
  const engine = tf.engine() as unknown as { runKernel: RunKernel };
  const runKernel = engine.runKernel;
  const names: string[] = [];
  engine.runKernel = (name, inputs, attrs) => (names.push(name), runKernel.call(engine, name, inputs, attrs));
  try {
    fn();
  } finally {
    engine.runKernel = runKernel;
  }
  return names;
}

/** Whether the probe has a float argument an outer gradient can differentiate by (OneHot's are indices). */
function hasFloatArg(probe: FProbe): boolean {
  const args = probeArgs(probe);
  const has = args.some((a) => a.dtype === 'float32');
  tf.dispose(args);
  return has;
}

/** Probes of kernels tfjs has a gradient for: the kernels it runs only inside gradients have none to compare with. */
const compared = () => Object.keys(PROBES).filter((k) => tfjsGradient(k) !== null);

describe('second-order gradients keep first-order gradients bit-identical to tfjs', () => {
  after(() => useBackend('cpu'));

  it('installs idempotently: gradpool configs registered, tfjs configs kept, each kernel once', async () => {
    await useBackend('cpu');
    installSecondOrderGradients();
    installSecondOrderGradients();
    const kernels = SECOND_ORDER_GRADIENTS.map((c) => c.kernelName);
    assert.equal(new Set(kernels).size, kernels.length, 'one config per kernel');
    for (const config of SECOND_ORDER_GRADIENTS) {
      assert.equal(tf.getGradient(config.kernelName), config, config.kernelName);
      assert.notEqual(tfjsGradient(config.kernelName), config, `${config.kernelName}: the kept config is tfjs's`);
    }
    // tfjs had configs for all but the kernels it only runs inside gradients.
    assert.deepEqual(kernels.filter((k) => !tfjsGradient(k)).sort(), [
      'AvgPool3DGrad', 'AvgPoolGrad', 'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput', 'EluGrad', 'MaxPoolGrad', 'ResizeBilinearGrad', 'ResizeNearestNeighborGrad',
    ]);
  });

  it("a plain tf.grads runs exactly the kernels tfjs's own gradients run, for every kernel's probe", async () => {
    await useBackend('cpu');
    const kernels = compared();
    const run = () => kernels.map((k) => kernelsRun(() => ('f' in PROBES[k]! ? gradients(PROBES[k] as FProbe, false) : runProbe(k, PROBES[k]!))).join(' '));
    const ours = run();
    const theirs = withTfjsGradients(run);
    assert.deepEqual(kernels.filter((_, i) => ours[i] !== theirs[i]), []);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`every kernel's probe, plain tf.grads, on ${backend}`, async () => {
      await useBackend(backend);
      const kernels = compared();
      // A probe that calls its gradient directly runs as the registry test runs it (dy is the probe's).
      const run = () => kernels.map((k) => ('f' in PROBES[k]! ? gradients(PROBES[k] as FProbe, false) : runProbe(k, PROBES[k]!)));
      const ours = run();
      const theirs = withTfjsGradients(run);
      assert.deepEqual(differing(ours, theirs, kernels), []);
    });

    it(`every kernel's probe, inside an outer gradient, on ${backend}`, async () => {
      await useBackend(backend);
      const kernels = compared().filter((k) => 'f' in PROBES[k]! && hasFloatArg(PROBES[k] as FProbe));
      const run = () => kernels.map((k) => gradients(PROBES[k] as FProbe, true));
      const ours = run();
      const theirs = withTfjsGradients(run);
      assert.deepEqual(kernels.filter((_, i) => ours[i]!.length === 0), [], 'every probe gave its gradients');
      assert.deepEqual(differing(ours, theirs, kernels), []);
    });
  }
});
