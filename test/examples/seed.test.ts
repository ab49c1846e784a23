// The seed example reproduces the Q&A: the unbatched loop and the pool agree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('examples: seed-tensordot', function () {
  it('runs from its README command and every check passes', () => {
    const script = fileURLToPath(new URL('../../examples/seed-tensordot/run.js', import.meta.url));
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    const checks = out.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
    assert.equal(checks.length, 3, out);
    assert.ok(checks.every((l) => l.startsWith('ok ')), out);
    assert.match(out, /predict shape \[256,1\], per-sample grads W \[256,3,2,1\], b \[256,1\]/);
  });
});
