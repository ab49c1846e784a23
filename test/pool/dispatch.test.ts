import assert from 'node:assert/strict';
import { mergeClaimed } from '../../src/dispatch.js';
import type { TaskResult } from '../../src/shared/protocol.js';

const info = { threadId: 1, numTensors: 0, backend: 'cpu' };
const ok = (chunks: number, badSample?: number): PromiseSettledResult<TaskResult> => ({ status: 'fulfilled', value: { ok: true, chunks, computeMs: chunks, ...(badSample !== undefined ? { badSample } : {}), ...info } });
const failed = (sample: number | undefined, message: string): PromiseSettledResult<TaskResult> => ({
  status: 'fulfilled',
  value: { ok: false, error: { code: 'ERR_SAMPLE_FAILED', message, ...(sample !== undefined ? { sample } : {}) }, ...info },
});

describe('dispatch: merging a claimed phase', () => {
  it('reports the failure at the lowest sample, whichever worker reported first', () => {
    // Task 0 happened to claim chunk 1 (sample 8 fails), task 1 chunk 0 (sample 0 fails).
    assert.throws(() => mergeClaimed([failed(8, 'gradient: sample 8: bad'), failed(0, 'gradient: sample 0: bad')], 2, 'gradient'), { code: 'ERR_SAMPLE_FAILED', message: 'gradient: sample 0: bad' });
    assert.throws(() => mergeClaimed([failed(undefined, 'model broke'), failed(3, 'gradient: sample 3: bad')], 2, 'gradient'), { message: 'gradient: sample 3: bad' });
  });

  it("a sample's failure outranks a crash, a crash any other failure; the lowest non-finite sample and the busiest worker are kept", () => {
    // Whether a crash after the first failing sample happens depends on timing; that sample's failure does not.
    assert.throws(() => mergeClaimed([failed(0, 'step: sample 0: x'), { status: 'rejected', reason: new Error('exit 3') }], 2, 'step'), { code: 'ERR_SAMPLE_FAILED', message: 'step: sample 0: x' });
    assert.throws(() => mergeClaimed([failed(undefined, 'model broke'), { status: 'rejected', reason: new Error('exit 3') }], 2, 'step'), { code: 'ERR_WORKER_CRASHED' });
    assert.deepEqual(mergeClaimed([ok(3, 40), ok(2, 12), ok(1)], 6, 'step'), { computeMs: 3, badSample: 12 });
    assert.throws(() => mergeClaimed([ok(3), ok(2)], 6, 'step'), { code: 'ERR_INTERNAL', message: 'step: 5 of 6 work units were computed' });
  });
});
