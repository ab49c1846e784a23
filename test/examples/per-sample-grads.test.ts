// The per-sample-gradients tutorial: the loop, vmap and pool.vmap agree (the example checks itself).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('examples: per-sample-grads', function () {
  it('vmap(grad(loss)) matches the loop of single-sample gradients, and pool.vmap matches vmap bit for bit', () => {
    const script = fileURLToPath(new URL('../../examples/per-sample-grads/run.js', import.meta.url));
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    const checks = out.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
    assert.equal(checks.length, 8, out);
    assert.ok(checks.every((l) => l.startsWith('ok ')), out);
    assert.match(out, /vmap conv \[64,3,3,1,8\]/);
    assert.match(out, /per-sample gradients of 64 samples: loop [\d.]+ ms, vmap [\d.]+ ms/);
  });
});
