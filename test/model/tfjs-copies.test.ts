// tfjs is a peer dependency, and a second copy of tfjs-core next to gradpool's is named in one
// warning line. The second copy is real: a project directory whose node_modules holds its own
// tfjs-core (hard links of the installed files, with its own package.json saying 4.21.0).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { secondTfjsMessage, tfjsCoreFrom } from '../../src/model/tfjs-copies.js';
import { fixture } from '../helpers/env.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
const installed = (name: string) => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** Copies a directory tree as hard links (a second package on disk without 40 MB of writes). */
function linkTree(from: string, to: string, skip: string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.name === skip) continue;
    if (e.isDirectory()) linkTree(join(from, e.name), join(to, e.name), '');
    else linkSync(join(from, e.name), join(to, e.name));
  }
}

describe('model: one copy of tfjs', function () {
  const TFJS = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'];

  it('package.json makes tfjs and its wasm backend peer dependencies (devDependencies for this checkout), and the installed versions are in range', () => {
    for (const name of TFJS) {
      assert.equal(pkg.dependencies![name], undefined, `${name} must not be a dependency: npm would nest a second copy for a project on another version`);
      const range = pkg.peerDependencies?.[name];
      assert.equal(range, '^4.22.0', name);
      assert.equal(pkg.devDependencies![name], range, `${name}: the checkout installs (and tests) the peer range`);
      const [major, minor, patch] = installed(name).split('.').map(Number);
      assert.ok(major === 4 && (minor! > 22 || (minor === 22 && patch! >= 0)), `${name} ${installed(name)} is outside ${range}`);
    }
  });

  describe('with a project that has its own tfjs-core', function () {
    let project: string;
    let theirs: string;
    const ours = realpathSync(join(root, 'node_modules/@tensorflow/tfjs-core'));
    before(() => {
      project = realpathSync(mkdtempSync(join(tmpdir(), 'gradpool-tfjs-copy-')));
      theirs = join(project, 'node_modules/@tensorflow/tfjs-core');
      linkTree(ours, theirs, 'package.json');
      // A file of its own (not a hard link), so the original package.json is never touched.
      const meta = JSON.parse(readFileSync(join(ours, 'package.json'), 'utf8')) as { version: string };
      writeFileSync(join(theirs, 'package.json'), JSON.stringify({ ...meta, version: '4.21.0' }));
    });
    after(() => rmSync(project, { recursive: true, force: true }));

    it('resolves it as another copy, and gradpool\'s own checkout as the same one', () => {
      assert.deepEqual(tfjsCoreFrom(project), { dir: theirs, version: '4.21.0' });
      assert.equal(secondTfjsMessage([root]), null);
      assert.equal(secondTfjsMessage([tmpdir()]), null, 'a directory with no tfjs at all loads gradpool\'s');
    });

    it('GradPool.create run from that project says so in one warning line, once', () => {
      // Two pools in one process: the warning must still be one line.
      const script = `import { GradPool } from ${JSON.stringify(join(root, 'dist/src/index.js'))};
        for (let i = 0; i < 2; i++) await (await GradPool.create({ model: ${JSON.stringify(fixture('seed'))}, threads: 1, backend: 'cpu' })).close();`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const stderr = r.stderr;
      const lines = stderr.split('\n').filter((l) => l.includes('tfjs-core'));
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^\(node:\d+\) GradPoolWarning: two copies of @tensorflow\/tfjs-core are installed: /);
      assert.ok(lines[0]!.includes(`gradpool uses 4.22.0 at ${ours}, but ${project} resolves 4.21.0 at ${theirs};`), lines[0]);
      assert.ok(lines[0]!.includes("Install one copy in gradpool's peer range (@tensorflow/tfjs ^4.22.0, with @tensorflow/tfjs-backend-wasm of the same version) and run npm dedupe"), lines[0]);
    });
  });
});
