// Second derivatives of every kernel in tfjs's gradient registry (with gradpool's gradients installed),
// on cpu, against finite differences of the first derivative (second-order-probe.ts says how and how
// exactly). The kernels whose second order is not supported are found by the run, each with its reason;
// docs/coverage.md lists them (test/workers/vectorized/coverage.test.ts).
import assert from 'node:assert/strict';
import { SECOND_ORDER_GRADIENTS, tfjsGradient } from '../../../src/shared/gradients/index.js';
import { MULTI_OUTPUT_GRADIENTS } from '../../../src/shared/gradients/multi-output.js';
import { useBackend, withBackend } from '../../helpers/env.js';
import { gradientRegistry, PROBES, WASM_OWN_WRONG } from '../kernels/gradient-probes.js';
import { secondOrder, type SecondOrder } from './second-order-probe.js';
import { withTfjsGradients } from './tfjs-configs.js';

const REPLACED = SECOND_ORDER_GRADIENTS.map((c) => c.kernelName);

describe('second-order gradients over the gradient registry (cpu, and wasm against cpu)', () => {
  withBackend('cpu');
  let outcomes: Map<string, SecondOrder>;
  before(() => {
    outcomes = new Map([...gradientRegistry().keys()].sort().map((k) => [k, secondOrder(k, PROBES[k]!)]));
  });

  it('no kernel gives a wrong second derivative: each matches finite differences or is unsupported, with the reason found', () => {
    assert.equal(outcomes.size, Object.keys(PROBES).length);
    const wrong = [...outcomes].flatMap(([k, o]) => ('wrong' in o ? [`${k}: ${o.wrong}`] : []));
    assert.deepEqual(wrong, []);
  });

  it("every kernel whose gradient gradpool replaces or adds matches finite differences (to 1e-4 of the Hessian-vector product's scale)", () => {
    const failing = REPLACED.flatMap((k) => (outcomes.get(k)!.ok ? [] : [`${k}: ${JSON.stringify(outcomes.get(k))}`]));
    assert.deepEqual(failing, []);
  });

  it("with tfjs's own gradient back in place, each replaced kernel's second derivative throws or is wrong (so each replacement is needed, and the check can fail)", () => {
    // Not the multi-output kernels: their tfjs gradients fail only for a single output (multi-output.test.ts).
    const firstOrderFixes = MULTI_OUTPUT_GRADIENTS.map((c) => c.kernelName);
    const replaced = REPLACED.filter((k) => tfjsGradient(k) && !firstOrderFixes.includes(k));
    assert.ok(replaced.length >= 15, `expected the activations, softmax and selections to replace tfjs configs, got ${replaced.join(', ')}`);
    const stillFine = replaced.filter((k) => {
      try {
        return withTfjsGradients(() => secondOrder(k, PROBES[k]!), [k]).ok;
      } catch {
        return false; // tfjs's own gradient threw something other than a missing gradient: not fine either
      }
    });
    assert.deepEqual(stillFine, []);
  });

  it("on wasm, every kernel fares as on cpu: the same match, the same are unsupported (but for tfjs-wasm's own wrong kernels)", async () => {
    await useBackend('wasm');
    try {
      const kind = (o: SecondOrder) => (o.ok ? 'matches' : 'unsupported' in o ? o.unsupported : `WRONG: ${o.wrong}`);
      const differing = [...outcomes].flatMap(([k, o]) => {
        if (Object.keys(WASM_OWN_WRONG).some((w) => w.startsWith(`${k}/`))) return [];
        const onWasm = kind(secondOrder(k, PROBES[k]!));
        return onWasm === kind(o) ? [] : [`${k}: ${onWasm} on wasm, ${kind(o)} on cpu`];
      });
      assert.deepEqual(differing, []);
    } finally {
      await useBackend('cpu');
    }
  });

  it('the unsupported kernels are the ones tfjs runs no op for, those without float inputs, and those whose gradients run a kernel without a gradient', () => {
    const reasons = [...outcomes].flatMap(([, o]) => ('unsupported' in o ? [o.unsupported.replace(/runs \w+,/, 'runs K,').replace(/\(.*\)/, '(…)')] : []));
    const kinds = new Set(reasons.map((r) => r.split(':')[0]));
    assert.deepEqual([...kinds].sort(), [
      'its first derivative is not L\'s (…)',
      'its gradient runs K, which has no gradient',
      'no float input to differentiate (…)',
      'not run by any op (…)',
    ].sort());
  });
});
