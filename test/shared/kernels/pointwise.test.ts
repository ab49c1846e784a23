// GradpoolPointwise (src/shared/kernels/pointwise.ts), a chain of float32 pointwise kernels as one
// pass: the same bits as wasm's own kernels run one after another, for every step, with operands of n
// values or of one on either side, n with and without a tail of n mod 4 values, NaN, ±Infinity, −0,
// overflow and wide exponents; several outputs; a clear error for bad inputs; no leaks.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { compiledChains, POINTWISE, runPointwise, type PointwiseOp, type PointwiseProgram } from '../../../src/shared/kernels/pointwise.js';
import { withBackend } from '../../helpers/env.js';
import { assertNoLeak, bits, runOn, wide, type Input } from './helpers.js';

/** wasm's own kernel for each step, on tensors (operands in the step's order). */
const OWN: Record<PointwiseOp, (a: tf.Tensor, b?: tf.Tensor) => tf.Tensor> = {
  Add: (a, b) => tf.add(a, b!),
  Sub: (a, b) => tf.sub(a, b!),
  Multiply: (a, b) => tf.mul(a, b!),
  RealDiv: (a, b) => tf.div(a, b!),
  SquaredDifference: (a, b) => tf.squaredDifference(a, b!),
  Mean1: (a) => tf.reshape(tf.mean(tf.reshape(a, [...a.shape, 1]), -1), a.shape),
};

/** The program run as one GradpoolPointwise call, and as wasm's kernels one by one: their outputs. */
async function both(p: PointwiseProgram, inputs: Input[]): Promise<{ got: Float32Array[]; want: Float32Array[] }> {
  const [got, want] = [
    await runOn('wasm', (...xs) => tf.engine().runKernel(POINTWISE, Object.fromEntries(xs.map((x, k) => [`in${k}`, x])), { program: JSON.stringify(p) }) as tf.Tensor[], inputs),
    await runOn('wasm', (...xs) => {
      const t: tf.Tensor[] = [];
      p.steps.forEach((s, i) => (t[i] = OWN[s.op](...(s.args.map((r) => ('in' in r ? xs[r.in]! : t[r.t]!)) as [tf.Tensor, tf.Tensor?]))));
      return p.outs.map((o) => tf.reshape(t[o.t]!, o.shape));
    }, inputs),
  ];
  got.forEach((g, j) => assert.deepEqual(g.shape, p.outs[j]!.shape));
  return { got: got.map((g) => g.values), want: want.map((w) => w.values) };
}

const column = (seed: number, n: number): Input => wide(seed, [n, 1], true);
const one = (v: number): Input => ({ shape: [1], values: [v], dtype: 'float32' });

describe('wasm kernel GradpoolPointwise (a chain of pointwise steps in one pass)', () => {
  withBackend('wasm');

  it("gives wasm's bits for each step alone, operands of n values or one on either side, n = 1, 3, 8, 13, 1027", async () => {
    for (const op of ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference'] as const)
      for (const n of [1, 3, 8, 13, 1027])
        for (const [a, b] of [[column(1, n), column(2, n)], [column(3, n), one(-0.3)], [one(1e30), column(4, n)]] as const) {
          const p: PointwiseProgram = { steps: [{ op, args: [{ in: 0 }, { in: 1 }] }], outs: [{ t: 0, shape: [n, 1] }] };
          const { got, want } = await both(p, [a, b]);
          assert.deepEqual(bits(got[0]!), bits(want[0]!), `${op}, n=${n}, a [${a.shape}], b [${b.shape}]`);
        }
    for (const n of [1, 13, 1027]) {
      const { got, want } = await both({ steps: [{ op: 'Mean1', args: [{ in: 0 }] }], outs: [{ t: 0, shape: [n] }] }, [column(5, n)]);
      assert.deepEqual(bits(got[0]!), bits(want[0]!), `Mean1, n=${n}`);
      if (n === 1027) assert.ok(want[0]!.some((v) => Object.is(v, 0)) && !want[0]!.some((v) => Object.is(v, -0)), 'a −0 came out +0, as wasm gives it');
    }
  });

  it("gives wasm's bits for chains (a loss and its gradient), with intermediate results as outputs", async () => {
    // The seed model's two chains: pred = mv + b, loss = mean((pred − y)²); then g = s·(pred − y), r·g.
    const forward: PointwiseProgram = {
      steps: [{ op: 'Add', args: [{ in: 0 }, { in: 1 }] }, { op: 'SquaredDifference', args: [{ t: 0 }, { in: 2 }] }, { op: 'Mean1', args: [{ t: 1 }] }],
      outs: [{ t: 0, shape: [1027, 1] }, { t: 2, shape: [1027] }],
    };
    const backward: PointwiseProgram = {
      steps: [{ op: 'Sub', args: [{ in: 0 }, { in: 1 }] }, { op: 'Multiply', args: [{ in: 2 }, { t: 0 }] }, { op: 'Multiply', args: [{ in: 3 }, { t: 1 }] }, { op: 'RealDiv', args: [{ t: 2 }, { in: 2 }] }],
      outs: [{ t: 3, shape: [1027, 1] }],
    };
    // Every step feeding the next one, so a result left unrounded would show in what follows.
    const args = (t: number) => [{ t }, { in: t % 2 }];
    const chained: PointwiseProgram = {
      steps: [
        { op: 'Sub', args: [{ in: 0 }, { in: 1 }] },
        ...(['Add', 'Multiply', 'RealDiv', 'SquaredDifference', 'Sub', 'Add'] as const).map((op, t) => ({ op, args: args(t) })),
        { op: 'Mean1', args: [{ t: 6 }] },
      ],
      outs: [{ t: 7, shape: [1027] }],
    };
    for (const [label, p, ins] of [
      ['forward', forward, [column(6, 1027), one(0.25), column(7, 1027)]],
      ['backward', backward, [column(8, 1027), column(9, 1027), one(2), one(-3.5e-3)]],
      ['every step feeding the next', chained, [wide(10, [1027], false), wide(11, [1027], false)]],
    ] as const) {
      const { got, want } = await both(p, [...ins]);
      assert.equal(got.length, p.outs.length);
      got.forEach((g, j) => assert.deepEqual(bits(g), bits(want[j]!), `${label}, output ${j}`));
      // The JavaScript route (the tail, and everything without WebAssembly SIMD), over all n values.
      const js = p.outs.map((o) => new Float32Array(tf.util.sizeFromShape(o.shape)));
      runPointwise(p, ins.map((x) => Float32Array.from(x.values)), js, 0, 1027);
      js.forEach((g, j) => assert.deepEqual(bits(g), bits(want[j]!), `${label}, output ${j}, in JavaScript`));
    }
  });

  it('names itself and the inputs it was given when one has neither n values nor one', async () => {
    const p: PointwiseProgram = { steps: [{ op: 'Add', args: [{ in: 0 }, { in: 1 }] }], outs: [{ t: 0, shape: [8] }] };
    await assert.rejects(
      runOn('wasm', (a, b) => tf.engine().runKernel(POINTWISE, { in0: a!, in1: b! }, { program: JSON.stringify(p) }) as tf.Tensor[], [column(1, 8), column(2, 3)]),
      /GradpoolPointwise: expected float32 inputs in0…in1 of 8 values or of one, got float32\[8,1\], float32\[3,1\]/,
    );
  });

  it('generates one module per chain whatever n is (a batch\'s last chunk brings new sizes), and keeps it', async () => {
    // A chain no other test runs, so its module is new here.
    const chain = (n: number): PointwiseProgram => ({ steps: [{ op: 'Sub', args: [{ in: 0 }, { in: 1 }] }, { op: 'RealDiv', args: [{ t: 0 }, { in: 1 }] }, { op: 'Add', args: [{ t: 1 }, { t: 0 }] }], outs: [{ t: 2, shape: [n] }] });
    const before = compiledChains();
    for (let n = 4; n < 44; n++) {
      const { got, want } = await both(chain(n), [wide(n, [n], false), wide(n + 1, [n], false)]);
      assert.deepEqual(bits(got[0]!), bits(want[0]!), `n=${n}`);
    }
    assert.equal(compiledChains() - before, 1, '40 sizes, one chain');
  });

  it('leaks nothing over 1,000 calls', async () => {
    const p: PointwiseProgram = { steps: [{ op: 'Sub', args: [{ in: 0 }, { in: 1 }] }, { op: 'Multiply', args: [{ t: 0 }, { t: 0 }] }], outs: [{ t: 0, shape: [9, 1] }, { t: 1, shape: [9, 1] }] };
    await assertNoLeak((a, b) => tf.engine().runKernel(POINTWISE, { in0: a!, in1: b! }, { program: JSON.stringify(p) }) as tf.Tensor[], [column(1, 9), one(3)], 1000);
  });
});
