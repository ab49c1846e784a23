/**
 * The cluster's message format. NATS caps a message at its server's `max_payload` (1 MB by default),
 * so a payload travels as numbered parts, each with a fixed binary header:
 *
 * | bytes | field |
 * |---|---|
 * | 0–3 | magic `GPC1` |
 * | 4–5 | kind (hello, welcome, refuse, fold, heartbeat, bye, outcome) |
 * | 6–7 | sender's rank |
 * | 8–15 | step (float64, an integer) |
 * | 16–19, 20–23 | part index, part count |
 * | 24–27, 28–31 | payload bytes in all parts, this part's byte offset in the payload |
 * | 32–35 | sender's incarnation (a random id per process: a restarted node is a different sender) |
 * | 36–37 | run id length; 40… the run id (UTF-8), then this part's bytes |
 *
 * Every part is checked on arrival (magic, run id, part index and count, offset and length against
 * the total), and a payload is handed on only when its parts tile it exactly.
 */

/** Message kinds. 5 was the fold's total, broadcast when every node ran the update; rank 0 now sends the outcome (8) instead. */
export const KIND = { hello: 1, welcome: 2, refuse: 3, fold: 4, heartbeat: 6, bye: 7, outcome: 8 } as const;
export type Kind = (typeof KIND)[keyof typeof KIND];

export interface Header {
  kind: Kind;
  from: number;
  step: number;
  part: number;
  parts: number;
  total: number;
  offset: number;
  incarnation: number;
  runId: string;
}

const MAGIC = 0x31435047; // 'GPC1' little-endian
const FIXED = 40;
const MAX_RUN_ID = 64;

/** Bytes of payload per part for a server that accepts `maxPayload`-byte messages: header room left, a multiple of 8 (float64 parts). */
export function partBytes(maxPayload: number): number {
  return Math.floor((maxPayload - FIXED - MAX_RUN_ID) / 8) * 8;
}

/** Splits `payload` into messages of at most `maxPayload` bytes, each with its header. */
export function encode(h: Omit<Header, 'part' | 'parts' | 'total' | 'offset'>, payload: Uint8Array, maxPayload: number): Uint8Array[] {
  const id = new TextEncoder().encode(h.runId);
  const size = partBytes(maxPayload);
  const parts = Math.max(1, Math.ceil(payload.length / size));
  const out: Uint8Array[] = [];
  for (let part = 0; part < parts; part++) {
    const offset = part * size;
    const body = payload.subarray(offset, Math.min(payload.length, offset + size));
    // A fresh buffer per message: the NATS client may still hold it after publish() returns.
    const msg = new Uint8Array(FIXED + id.length + body.length);
    const v = new DataView(msg.buffer);
    v.setUint32(0, MAGIC, true);
    v.setUint16(4, h.kind, true);
    v.setUint16(6, h.from, true);
    v.setFloat64(8, h.step, true);
    v.setUint32(16, part, true);
    v.setUint32(20, parts, true);
    v.setUint32(24, payload.length, true);
    v.setUint32(28, offset, true);
    v.setUint32(32, h.incarnation, true);
    v.setUint16(36, id.length, true);
    msg.set(id, FIXED);
    msg.set(body, FIXED + id.length);
    out.push(msg);
  }
  return out;
}

/** One part: its header and its bytes, or why it is not a part of ours (malformed). */
export function decode(msg: Uint8Array): { header: Header; body: Uint8Array } | string {
  if (msg.length < FIXED) return `${msg.length} bytes, shorter than a header`;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return 'not a gradpool message';
  const idLen = v.getUint16(36, true);
  if (idLen > MAX_RUN_ID || FIXED + idLen > msg.length) return 'run id runs past the message';
  const header: Header = {
    kind: v.getUint16(4, true) as Kind,
    from: v.getUint16(6, true),
    step: v.getFloat64(8, true),
    part: v.getUint32(16, true),
    parts: v.getUint32(20, true),
    total: v.getUint32(24, true),
    offset: v.getUint32(28, true),
    incarnation: v.getUint32(32, true),
    runId: new TextDecoder().decode(msg.subarray(FIXED, FIXED + idLen)),
  };
  const body = msg.subarray(FIXED + idLen);
  if (!Object.values(KIND).includes(header.kind)) return `unknown kind ${header.kind}`;
  if (!Number.isSafeInteger(header.step) || header.step < 0) return `step ${header.step} is not a count`;
  if (header.parts < 1 || header.part >= header.parts) return `part ${header.part} of ${header.parts}`;
  if (header.offset + body.length > header.total) return `part ${header.part} (bytes ${header.offset}+${body.length}) runs past the payload's ${header.total} bytes`;
  return { header, body };
}

/**
 * Collects the parts of one payload. A part that disagrees with the first on count or total, or
 * repeats one already held, makes the payload malformed; the payload is complete when every part is
 * there and, in part order, they tile [0, total) with no gap or overlap.
 */
export class Assembly {
  private readonly got: (Uint8Array | undefined)[];
  private readonly offsets: number[];
  private have = 0;

  constructor(readonly first: Header) {
    this.got = new Array<Uint8Array | undefined>(first.parts);
    this.offsets = new Array<number>(first.parts);
  }

  /** Adds a part: the whole payload once complete, null while parts are missing, or why the payload is malformed. */
  add(h: Header, body: Uint8Array): Uint8Array | null | string {
    if (h.parts !== this.first.parts || h.total !== this.first.total) return `part ${h.part} says ${h.parts} parts of ${h.total} bytes, part ${this.first.part} said ${this.first.parts} of ${this.first.total}`;
    if (this.got[h.part]) return `part ${h.part} of ${h.parts} arrived twice`;
    this.got[h.part] = body.slice();
    this.offsets[h.part] = h.offset;
    if (++this.have < h.parts) return null;
    const out = new Uint8Array(h.total);
    let at = 0;
    for (let p = 0; p < h.parts; p++) {
      if (this.offsets[p] !== at) return `part ${p} starts at byte ${this.offsets[p]}, expected ${at}`;
      out.set(this.got[p]!, at);
      at += this.got[p]!.length;
    }
    if (at !== h.total) return `the parts hold ${at} bytes, the header says ${h.total}`;
    return out;
  }
}
