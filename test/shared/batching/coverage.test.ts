// The kernel coverage table, generated from code: every kernel tfjs-core registers a gradient for, with
// its batching rule (or the per-sample fallback), whether it runs on wasm (tfjs's own kernel, one
// gradpool adds, or a gap), and the checks that cover it. Each row is checked here: the kernel's probe
// (test/shared/kernels/gradient-probes.ts) runs under vmap on cpu and wasm, outputs and per-sample
// gradients against the per-sample loop. docs/coverage.md must equal the generated table; `npm run
// coverage` rewrites it (GRADPOOL_WRITE_COVERAGE=1).
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { STANDALONE, RULES } from '../../../src/shared/batching/rules/index.js';
import { WASM_GRADIENT_GAPS, WASM_GRADIENT_KERNELS } from '../../../src/shared/kernels/index.js';
import { gradientRegistry, PROBES, WASM_OWN_WRONG, type Probe } from '../kernels/gradient-probes.js';
import { captureWarnings, compare, useBackend, type ArgSpec } from './helpers.js';
import { resetWarnings } from '../../../src/shared/batching/index.js';
import { SECOND_ORDER_GRADIENTS, tfjsGradient } from '../../../src/shared/gradients/index.js';
import { secondOrder, type SecondOrder } from '../gradients/second-order-probe.js';

const DOC = fileURLToPath(new URL('../../../../docs/coverage.md', import.meta.url));
const BACKENDS = ['cpu', 'wasm'] as const;
const ADDED = new Set(WASM_GRADIENT_KERNELS.map((k) => k.kernelName));

/** How one kernel fared under vmap on one backend. */
type Outcome = { ok: true; fallback: boolean; chosen?: boolean } | { ok: false; why: string } | { ok: 'direct' };

/** Which probe arguments carry the batch axis: the first (data; the rest shared, like parameters), or all. */
type Variant = 'first' | 'all';
const VARIANTS: readonly Variant[] = ['first', 'all'];

/**
 * Runs `probe` under vmap over a batch of 2 (the batched arguments and a 0.9-scaled copy, so domains
 * such as log's stay valid; integer arguments repeated) against the per-sample loop, and says whether
 * the kernel itself went through the per-sample fallback.
 */
function vmapProbe(kernel: string, probe: Probe, variant: Variant): Outcome {
  if (!('f' in probe)) return { ok: 'direct' };
  const warnings = captureWarnings();
  const base = probe.args();
  const batched = base.map((_, k) => variant === 'all' || k === 0);
  const args = base.map((a, k) => (batched[k] ? tf.tidy(() => tf.stack([a, a.dtype === 'int32' ? a : tf.mul(a, 0.9)])) : a.clone()));
  const specs: ArgSpec[] = base.map((a, k) => ({ shape: a.shape, batched: batched[k]!, ...(a.dtype === 'int32' ? { int: 1 } : {}) }));
  try {
    compare(kernel, probe.f, args, specs, { n: 2, rtol: 1e-4, grads: specs.some((sp) => sp.int === undefined) });
    const mine = warnings.filter((w) => w.startsWith(`gradpool: no batching rule for kernel '${kernel}'`));
    // "… for kernel 'K' with <why>": the rule itself chose to run per sample, for the reason it gives.
    return { ok: true, fallback: mine.length > 0, chosen: mine.length > 0 && mine.every((w) => w.startsWith(`gradpool: no batching rule for kernel '${kernel}' with `)) };
  } catch (e) {
    return { ok: false, why: (e as Error).message.split('\n')[0]! };
  } finally {
    tf.dispose([...base, ...args]);
    resetWarnings();
  }
}

function wasmColumn(kernel: string): string {
  if (ADDED.has(kernel)) return 'added by gradpool';
  if (WASM_GRADIENT_GAPS[kernel]) return `missing: ${WASM_GRADIENT_GAPS[kernel]}`;
  const wrong = Object.entries(WASM_OWN_WRONG).filter(([k]) => k.startsWith(`${kernel}/`));
  return wrong.length ? `tfjs-wasm; its gradient is wrong: ${wrong.map(([, why]) => why).join('; ')}` : 'tfjs-wasm';
}

function ruleColumn(kernel: string): string {
  if (!RULES.has(kernel)) return 'none: per-sample fallback';
  return STANDALONE.has(kernel) ? 'rule (standalone)' : 'rule';
}

/** tfjs-wasm's own gradient of `kernel` is wrong (the loop and vmap then differ, by changing amounts). */
const wasmWrong = (kernel: string) => Object.keys(WASM_OWN_WRONG).some((w) => w.startsWith(`${kernel}/`));

/** The four vmap cells of a row: per backend, data batched then all batched. */
function vmapCells(kernel: string, outcomes: Record<string, Outcome>): string[] {
  return BACKENDS.flatMap((b) =>
    VARIANTS.map((v) => {
      const o = outcomes[`${b}/${v}`]!;
      if (o.ok === 'direct') return 'not run by any op';
      // Even whether it matches is run-dependent (it flipped for Conv3D when another test ran first,
      // e.g. through outputs such a kernel leaves unwritten), so the cell does not say.
      if (b === 'wasm' && wasmWrong(kernel)) return "unreliable: tfjs-wasm's own gradient is wrong";
      if (o.ok === false) return `FAILS: ${o.why}`;
      return o.fallback ? 'matches, per sample' : 'matches';
    }),
  );
}

const OURS = new Set(SECOND_ORDER_GRADIENTS.map((c) => c.kernelName));

/** The second-order cell: how the kernel's second derivative fared on cpu, and whose gradient it ran. */
function secondOrderCell(kernel: string, o: SecondOrder): string {
  if (o.ok) return OURS.has(kernel) ? "matches, gradpool's gradient" : 'matches';
  return 'unsupported' in o ? `no: ${o.unsupported}` : `WRONG: ${o.wrong}`;
}

const HEAD = ['kernel', 'batching rule', 'on wasm', ...BACKENDS.flatMap((b) => [`${b}: data batched`, `${b}: all batched`]), 'second order (cpu)', 'covered by'];

function table(rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(HEAD), line(HEAD.map(() => '---')), ...rows.map(line)].join('\n');
}

function render(rows: string[][], kernels: number): string {
  return `# Kernel coverage

Generated by \`npm run coverage\` from \`test/workers/vectorized/coverage.test.ts\`; the test fails when this
file is out of date. One row per kernel that tfjs-core 4.22 registers a gradient for, and the ones tfjs
runs only inside gradients that gradpool adds gradients for (${kernels} kernels).

- **batching rule**: how the vectorized executor runs the kernel over a chunk
  (\`src/shared/batching/rules/\`). *standalone*: the rule never calls the inner kernel of the
  same name, so it works where the inner backend lacks it. *per-sample fallback*: the kernel runs once
  per sample and is stacked (correct, slower, warned once per pool).
- **on wasm**: the kernel on the default backend: tfjs-backend-wasm's own, added by gradpool
  (\`src/shared/kernels/\`, so that plain \`tf.grads\` works on wasm in both executors), or missing.
- **cpu / wasm: data batched / all batched**: the kernel's probe (\`test/shared/kernels/gradient-probes.ts\`) over a
  batch of 2 under the vmap backend, outputs and per-sample gradients against a per-sample loop, to
  1e-4 relative, on each backend; *data batched*: only the first argument has the batch axis (the
  others are shared, as parameters are), *all batched*: every argument has it. *per sample*: the
  kernel went through the fallback. *not run by any op*: no op reaches the kernel (its gradient is
  checked by calling it directly).
- **second order (cpu)**: the kernel's probe differentiated twice (a Hessian-vector product) against
  finite differences of its first derivative (\`test/shared/gradients/second-order-probe.ts\`), with
  gradpool's second-order gradients installed (\`src/shared/gradients/\`: they replace tfjs's for the
  kernels marked *gradpool's gradient*, whose tfjs gradient throws or is wrong when differentiated, and
  add gradients for ${SECOND_ORDER_GRADIENTS.map((c) => c.kernelName).filter((k) => tfjsGradient(k) === null).join(', ')}). *no*: not supported, with the
  reason the run found. Ops that are tfjs \`customGrad\`s rather than kernels are outside this table;
  gradpool makes every one differentiable twice (\`src/shared/gradients/custom-ops.ts\`), and
  \`test/shared/gradients/custom-ops.test.ts\` checks all of tfjs-core's the same way on cpu and wasm:
  \`tf.logSoftmax\` and \`tf.losses.softmaxCrossEntropy\` (tfjs's were wrong: their gradients read
  a tensor computed inside the op, which no tape links to the logits), \`tf.logSigmoid\` and
  \`tf.fused.matMul\` / \`conv2d\` / \`depthwiseConv2d\` (tfjs's were right: their gradients read only
  inputs). tfjs's softmaxCrossEntropy gradient is p − y, the derivative only for labels summing to 1.
- **covered by**: \`test/shared/kernels/registry.test.ts\` runs every kernel's gradient on wasm
  against cpu; \`test/workers/vectorized/coverage.test.ts\` makes the vmap column and fails when a
  kernel with a rule does not match or falls back (but where the rule itself runs the kernel per sample,
  saying why), or a second derivative is wrong;
  \`test/shared/gradients/second-order.test.ts\` checks the second order column's kernels.

${table(rows)}
`;
}

describe('kernel coverage table (docs/coverage.md)', function () {
  after(() => useBackend('cpu'));

  it('every kernel with a gradient is checked under vmap on cpu and wasm, and docs/coverage.md is the generated table', async () => {
    const kernels = [...gradientRegistry().keys()].sort();
    assert.deepEqual(Object.keys(PROBES).sort(), kernels, 'a probe per kernel with a gradient');
    const outcomes: Record<string, Record<string, Outcome>> = Object.fromEntries(kernels.map((k) => [k, {}]));
    for (const b of BACKENDS) {
      await useBackend(b);
      for (const k of kernels) for (const v of VARIANTS) outcomes[k]![`${b}/${v}`] = vmapProbe(k, PROBES[k]!, v);
    }
    await useBackend('cpu');
    const second = new Map(kernels.map((k) => [k, secondOrder(k, PROBES[k]!)]));
    const rows = kernels.map((k) => [
      k,
      ruleColumn(k),
      wasmColumn(k),
      ...vmapCells(k, outcomes[k]!),
      secondOrderCell(k, second.get(k)!),
      outcomes[k]!['cpu/first']!.ok === 'direct' ? 'registry.test.ts' : 'registry.test.ts, coverage.test.ts',
    ]);
    const doc = render(rows, kernels.length);
    if (process.env.GRADPOOL_WRITE_COVERAGE === '1') writeFileSync(DOC, doc);
    // What must hold, whatever the table says: with the data batched, a kernel with a rule runs by
    // that rule and matches (on wasm, but for tfjs-wasm's own wrong gradients).
    const failing = kernels.flatMap((k) =>
      BACKENDS.flatMap((b) => {
        const o = outcomes[k]![`${b}/first`]!;
        const excused = b === 'wasm' && wasmWrong(k);
        return RULES.has(k) && !excused && (o.ok === false || (o.ok === true && o.fallback && !o.chosen)) ? [`${k} on ${b}: ${JSON.stringify(o)}`] : [];
      }),
    );
    assert.deepEqual(failing, []);
    assert.deepEqual(kernels.filter((k) => 'wrong' in second.get(k)!), [], 'no second derivative is wrong');
    assert.equal(readFileSync(DOC, 'utf8'), doc, 'docs/coverage.md is out of date: run `npm run coverage`');
  });
});
