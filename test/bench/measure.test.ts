// The interleaved timing loop (bench/measure.ts): every contender once per round, in an order
// shuffled each round and repeatable from its seed, so no contender always runs right after the same
// other one (what ran just before a call changes its time).
import assert from 'node:assert/strict';
import { interleave } from '../../bench/measure.js';

/** Runs `n` contenders for `rounds` rounds; returns the order of the timed calls, as contender indices. */
async function callOrder(n: number, rounds: number, seed: number): Promise<number[]> {
  const order: number[] = [];
  await interleave(Array.from({ length: n }, (_, i) => ({ fn: () => void order.push(i) })), rounds, 0, seed);
  return order;
}

describe('bench: interleaved rounds', () => {
  it('times every contender once per round, and returns its samples in round order', async () => {
    const order = await callOrder(5, 12, 0);
    for (let r = 0; r < 12; r++) assert.deepEqual([...order.slice(5 * r, 5 * r + 5)].sort(), [0, 1, 2, 3, 4], `round ${r}`);
    const samples = await interleave([{ fn: () => 0 }, { fn: () => 0 }], 7, 0);
    assert.deepEqual(samples.map((s) => s.length), [7, 7]);
  });

  it('runs each contender right after each of the others in some round (in a rotated order, each always follows the same one)', async () => {
    const n = 4;
    const order = await callOrder(n, 40, 0);
    for (let i = 0; i < n; i++) {
      const before = new Set<number>();
      for (let k = 1; k < order.length; k++) if (order[k] === i && k % n !== 0) before.add(order[k - 1]!); // within a round
      assert.deepEqual([...before].sort(), [0, 1, 2, 3].filter((j) => j !== i), `contender ${i}'s predecessors within a round`);
    }
  });

  it('repeats its order for a seed, and another seed gives another order', async () => {
    assert.deepEqual(await callOrder(6, 10, 3), await callOrder(6, 10, 3));
    assert.notDeepEqual(await callOrder(6, 10, 3), await callOrder(6, 10, 4));
  });
});
