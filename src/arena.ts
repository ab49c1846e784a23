import type { RegionHandle, RegionKind } from './protocol.js';

type View<K extends RegionKind> = K extends 'f32' ? Float32Array : K extends 'f64' ? Float64Array : Int32Array;
const BYTES: Record<RegionKind, number> = { f32: 4, f64: 8, i32: 4 };

function makeView<K extends RegionKind>(kind: K, sab: SharedArrayBuffer, length?: number): View<K> {
  const n = length ?? sab.byteLength / BYTES[kind];
  switch (kind) {
    case 'f32':
      return new Float32Array(sab, 0, n) as View<K>;
    case 'f64':
      return new Float64Array(sab, 0, n) as View<K>;
    default:
      return new Int32Array(sab, 0, n) as View<K>;
  }
}

interface Region {
  kind: RegionKind;
  sab: SharedArrayBuffer;
  capacity: number;
}

/**
 * The coordinator's shared memory: named regions, each one SharedArrayBuffer. A region is allocated
 * the first time it is asked for and reallocated only when a call needs more room than it has, with
 * geometric growth, so a training loop (even with Poisson-sampled batch sizes) settles on one set of
 * buffers and reuses them for every call after the first few. See docs/architecture.md for the layout.
 */
export class Arena {
  private regions = new Map<string, Region>();
  /** Bytes currently held, for diagnostics. */
  get bytes(): number {
    let n = 0;
    for (const r of this.regions.values()) n += r.sab.byteLength;
    return n;
  }
  /** How many SharedArrayBuffers have been allocated so far (a leak/reuse indicator for tests). */
  allocations = 0;

  /**
   * Makes sure region `name` holds at least `length` elements of `kind`. Growing loses the old
   * contents unless `preserve` is set.
   */
  ensure(name: string, kind: RegionKind, length: number, preserve = false): void {
    const r = this.regions.get(name);
    if (r && r.kind === kind && r.capacity >= length) return;
    const capacity = r && r.kind === kind ? Math.max(length, Math.ceil(r.capacity * 1.5)) : Math.max(length, 1);
    const sab = new SharedArrayBuffer(capacity * BYTES[kind]);
    this.allocations++;
    if (r && r.kind === kind && preserve) new Uint8Array(sab).set(new Uint8Array(r.sab));
    this.regions.set(name, { kind, sab, capacity });
  }

  /** A typed view of region `name`, of exactly `length` elements (default: its capacity). */
  view<K extends RegionKind>(name: string, kind: K, length?: number): View<K> {
    const r = this.regions.get(name);
    if (!r || r.kind !== kind) throw new Error(`arena: no ${kind} region '${name}'`);
    return makeView(kind, r.sab, length ?? r.capacity);
  }

  f32(name: string, length?: number): Float32Array {
    return this.view(name, 'f32', length);
  }
  f64(name: string, length?: number): Float64Array {
    return this.view(name, 'f64', length);
  }
  i32(name: string, length?: number): Int32Array {
    return this.view(name, 'i32', length);
  }

  has(name: string): boolean {
    return this.regions.has(name);
  }

  /** The handles to send to workers (sharing, not copying, the memory). */
  handles(names?: readonly string[]): Record<string, RegionHandle> {
    const out: Record<string, RegionHandle> = {};
    for (const [name, r] of this.regions) if (!names || names.includes(name)) out[name] = { sab: r.sab, kind: r.kind };
    return out;
  }
}

/** Worker side: a typed view over a region handle. */
export function regionView<K extends RegionKind>(h: RegionHandle | undefined, kind: K, name: string): View<K> {
  if (!h || h.kind !== kind) throw new Error(`worker: missing ${kind} region '${name}'`);
  return makeView(kind, h.sab);
}
