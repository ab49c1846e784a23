// Results are typed by the model's parameter names: with `GradPool.create<typeof model>`, `grads.W`
// is an NDArray (not "possibly undefined") even under `noUncheckedIndexedAccess` (on in `tsc --init`),
// and a name the model lacks is a compile error. Compiled here with the TypeScript API against the
// built declarations, as a user's project would see them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const dist = fileURLToPath(new URL('../../', import.meta.url)); // dist/
const api = JSON.stringify(join(dist, 'src/index.js'));
const seedModel = JSON.stringify(join(dist, 'test/fixtures/models/seed.js'));

const header = `import { GradPool, type ParamNames } from ${api};\nimport type model from ${seedModel};\n`;

/** Uses every result by name without `!`: must compile cleanly. */
const typed = `${header}
const pool = await GradPool.create<typeof model>({ model: 'model.js' });
const { grads, losses } = await pool.perSampleGrads(new Float32Array(6), new Float32Array(1));
const w: Float32Array = grads.W.data;
const mean = await pool.gradient(new Float32Array(6), new Float32Array(1));
const bShape: number[] = mean.grads.b.shape;
const params = pool.getParams();
const p: Float32Array = params.W.data;
pool.setParams({ b: [0.5] });
const names: ParamNames<typeof model> = 'W';
const byUnion = await GradPool.create<'A' | 'B'>({ model: 'model.js' });
const a: Float32Array = byUnion.getParams().A.data;
export { w, bShape, p, names, a, losses };
`;

/** Each line must fail to compile: proves the option is on and the names are checked, not `any`. */
const wrong = `${header}
const pool = await GradPool.create<typeof model>({ model: 'model.js' });
const { grads } = await pool.perSampleGrads(new Float32Array(6), new Float32Array(1));
const z = grads.Z;
pool.setParams({ Z: [0] });
const untyped = await GradPool.create({ model: 'model.js' });
const w: Float32Array = untyped.getParams().W.data;
export { z, w };
`;

describe('model: results typed by parameter names', function () {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'gradpool-types-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('grads.W compiles without `!` under noUncheckedIndexedAccess, and an unknown name does not', () => {
    const files = { typed: join(dir, 'typed.mts'), wrong: join(dir, 'wrong.mts') };
    writeFileSync(files.typed, typed);
    writeFileSync(files.wrong, wrong);
    const program = ts.createProgram(Object.values(files), {
      strict: true,
      noUncheckedIndexedAccess: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    const lines = (file: string) =>
      diagnostics
        .filter((d) => d.file?.fileName === file)
        .map((d) => `${d.file!.getLineAndCharacterOfPosition(d.start!).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    const elsewhere = diagnostics.filter((d) => !d.file || !Object.values(files).includes(d.file.fileName));
    assert.deepEqual(elsewhere.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')), []);
    assert.deepEqual(lines(files.typed), []);
    const errs = lines(files.wrong);
    assert.equal(errs.length, 3, errs.join('\n'));
    assert.match(errs[0]!, /^6: Property 'Z' does not exist on type 'Record<"W" \| "b", NDArray>'/);
    assert.match(errs[1]!, /^7: Object literal may only specify known properties, and 'Z' does not exist/);
    assert.match(errs[2]!, /^9: Object is possibly 'undefined'/);
  });
});
