// The model-ensembling tutorial: vmap over stacked parameters and the ensemble pool agree with the loop.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('examples: ensembling', function () {
  it('vmap over stacked parameters and the ensemble pool match the loop over models; a member is its own pool', () => {
    const script = fileURLToPath(new URL('../../examples/ensembling/run.js', import.meta.url));
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    const checks = out.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
    assert.equal(checks.length, 4, out);
    assert.ok(checks.every((l) => l.startsWith('ok ')), out);
    assert.match(out, /ensemble pool predict \[4,64,10\]/);
  });
});
