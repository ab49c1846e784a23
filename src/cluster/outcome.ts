/**
 * A step's outcome, as rank 0 broadcasts it once it has run the update: applied (with the new
 * parameters' float32 bits), skipped (with the reason), or failed (with the error). Every outcome
 * carries the StepResult rank 0 returns and its random-call counter, so a follower returns the same
 * result and keeps the same counter without running the update or holding optimizer state.
 *
 * Layout: u32 length of a JSON head, the head, zero padding to 4 bytes, then P float32 parameters
 * (applied only). The numbers of the head travel exactly: JSON keeps a finite double's bits
 * (shortest round-trip form), and NaN, ±Infinity and -0, which JSON cannot hold, travel as
 * `{ "float": "NaN" }`.
 */
import type { StepResult } from '../train/step.js';
import type { Failure } from './exchange.js';

export type Outcome =
  | { status: 'applied'; result: StepResult; randomCalls: number; params: Float32Array }
  | { status: 'skipped'; result: StepResult; randomCalls: number }
  | { status: 'failed'; failure: Failure; randomCalls: number };

type Head = { status: Outcome['status']; result?: StepResult; failure?: Failure; randomCalls: number };

const special = (v: number) => !Number.isFinite(v) || Object.is(v, -0);
const replacer = (_: string, v: unknown) => (typeof v === 'number' && special(v) ? { float: Object.is(v, -0) ? '-0' : String(v) } : v);
const reviver = (_: string, v: unknown) => (v !== null && typeof v === 'object' && Object.keys(v).length === 1 && typeof (v as { float?: unknown }).float === 'string' ? Number((v as { float: string }).float) : v);

/** The outcome as one payload (link.send splits it into parts). */
export function encodeOutcome(o: Outcome): Uint8Array {
  const { params, ...rest } = o as Outcome & { params?: Float32Array };
  const head = new TextEncoder().encode(JSON.stringify(rest satisfies Head, replacer));
  const start = 4 + head.length + ((4 - ((4 + head.length) % 4)) % 4);
  const out = new Uint8Array(start + (params?.byteLength ?? 0));
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  if (params) out.set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength), start);
  return out;
}

/** The outcome of a payload for a model of `P` parameters, or what is wrong with it. */
export function decodeOutcome(body: Uint8Array, P: number): Outcome | string {
  if (body.length < 4) return `an outcome of ${body.length} bytes`;
  const n = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true);
  const start = 4 + n + ((4 - ((4 + n) % 4)) % 4);
  if (start > body.length) return `an outcome whose head (${n} bytes) runs past its ${body.length} bytes`;
  let head: Head;
  try {
    head = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + n)), reviver) as Head;
  } catch (e) {
    return `an outcome whose head is not JSON (${(e as Error).message})`;
  }
  const extra = body.length - start;
  const want = head.status === 'applied' ? 4 * P : 0;
  if (extra !== want) return `the ${head.status} outcome holds ${extra} bytes of parameters, expected ${want}`;
  if (!Number.isSafeInteger(head.randomCalls)) return `an outcome with random-call counter ${head.randomCalls}`;
  if (head.status === 'failed') return head.failure ? { status: 'failed', failure: head.failure, randomCalls: head.randomCalls } : 'a failed outcome without its failure';
  if (!head.result) return `a ${head.status} outcome without its result`;
  if (head.status === 'skipped') return { status: 'skipped', result: head.result, randomCalls: head.randomCalls };
  if (head.status !== 'applied') return `an outcome of status ${JSON.stringify(head.status)}`;
  return { status: 'applied', result: head.result, randomCalls: head.randomCalls, params: new Float32Array(body.slice(start).buffer) };
}
