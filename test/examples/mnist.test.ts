// The MNIST example (what `npm start` runs) trains on the real digits to ≥ 92% held-out accuracy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../examples/mnist/train.js', import.meta.url));

describe('examples: mnist', function () {
  it('reaches ≥ 92% test accuracy on the held-out digits', () => {
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    const m = /test accuracy ([\d.]+)% on 2004 held-out digits/.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) >= 92, out);
    assert.match(out, /target ≥ 92%: met/);
  });

  it('--dp trains privately and prints ε', () => {
    const out = execFileSync(process.execPath, [script, '--dp', '--epochs', '2'], { encoding: 'utf8' });
    const eps = /privacy spent: ε = ([\d.]+) at δ = 1e-5/.exec(out);
    assert.ok(eps && Number(eps[1]) > 0, out);
    const acc = /test accuracy ([\d.]+)%/.exec(out);
    assert.ok(acc && Number(acc[1]) > 50, `DP training should learn something: ${out}`);
  });
});
