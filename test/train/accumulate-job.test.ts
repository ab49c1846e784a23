/**
 * The job file's physicalBatchSize: validated by name, passed to fit, and left out of jobHash (it
 * changes how a logical batch is staged, not its semantics, so a run may resume with another value).
 */
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { jobHash, parseJob } from '../../src/cli/job.js';
import { dataFixture } from '../io/helpers.js';
import { throwsExactly } from '../helpers/assert.js';

const base = dirname(dataFixture('job/model.js'));
const minimal = { model: 'model.js', data: { format: 'csv', path: 'train.csv', x: 'a:c', y: ['label'], oneHot: 2 }, batchSize: 32, epochs: 2, optimizer: { name: 'adam' } };
const parse = (o: unknown) => parseJob(JSON.stringify(o), { baseDir: base });

describe('cli: job file physicalBatchSize', () => {
  it('is read when given, absent otherwise, and does not change the job hash', () => {
    assert.equal(parse({ ...minimal, physicalBatchSize: 8 }).physicalBatchSize, 8);
    assert.equal('physicalBatchSize' in parse(minimal), false);
    assert.equal(jobHash(parse({ ...minimal, physicalBatchSize: 8 })), jobHash(parse(minimal)));
  });

  for (const bad of [0, 2.5, '8', -1])
    it(`refuses ${JSON.stringify(bad)} naming the field`, () => {
      throwsExactly(() => parse({ ...minimal, physicalBatchSize: bad }), `physicalBatchSize: expected a positive integer, got ${typeof bad === 'string' ? `"${bad}"` : bad}`);
    });
});
