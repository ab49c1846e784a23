// A run's identity covers the bytes of the model module and of the training data, not just the job
// file: `--resume` refuses a changed model.js or a relabelled CSV (exit 2, naming the file) and
// changes nothing; `--force` resumes anyway, with a warning naming what changed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeJob, plainLines, runCli, snapshot, warningsOf } from './helpers.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);

describe('cli: the run identity includes the model and data files', function () {
  it('--resume refuses a changed model module or data file unless --force, naming the file', async () => {
    const { dir, job } = makeJob({ epochs: 1 });
    assert.equal((await runCli(['train', job])).code, 0);
    const out = join(dir, 'out');
    const before = snapshot(out);
    const edits: [string, (text: string) => string][] = [
      ['model.js', (t) => t.replace('tf.tanh(', 'tf.relu(')], // relu for tanh
      ['train.csv', (t) => t.replace(/,(\d)\n/, (_m, c: string) => `,${(Number(c) + 1) % 3}\n`)], // one row relabelled
    ];
    for (const [name, edit] of edits) {
      const file = join(dir, name);
      const original = readFileSync(file, 'utf8');
      const was = sha(file);
      writeFileSync(file, edit(original));
      assert.notEqual(sha(file), was, `the edit changed ${name}`);
      const field = name === 'model.js' ? 'model' : 'data.path';
      const what = `${name} (${field}: sha256 ${sha(file)}… now, ${was}… at the checkpoint) changed since the checkpoint at step 30 was written`;
      const refused = await runCli(['train', job, '--resume']);
      assert.equal(refused.code, 2, refused.stderr);
      assert.deepEqual(plainLines(refused.stderr), [`gradpool: --resume: ${what}; pass --force to resume anyway`]);
      assert.deepEqual(snapshot(out), before, 'a refused resume changed the output directory');
      writeFileSync(file, original);
    }
    // Restored files resume without a word; a changed data file with --force resumes with a warning.
    const same = await runCli(['train', job, '--resume']);
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(warningsOf(same), []);
    const csv = join(dir, 'train.csv');
    const was = sha(csv);
    writeFileSync(csv, edits[1]![1](readFileSync(csv, 'utf8')));
    const forced = await runCli(['train', job, '--resume', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(warningsOf(forced), [`--resume --force: resuming although train.csv (data.path: sha256 ${sha(csv)}… now, ${was}… at the checkpoint) changed since the checkpoint at step 30 was written`]);
  });
});
