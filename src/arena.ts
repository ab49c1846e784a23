import { BYTES, makeView, type RegionHandles, type RegionKind, type RegionSpec, type View } from './shared/protocol.js';

interface Region {
  kind: RegionKind;
  sab: SharedArrayBuffer;
  capacity: number;
}

/**
 * The coordinator's shared memory: the regions of src/shared/protocol.ts's table, each one
 * SharedArrayBuffer. A region is allocated the first time it is asked for and reallocated only when a
 * call needs more room than it has, with geometric growth, so a training loop (even with
 * Poisson-sampled batch sizes) settles on one set of buffers and reuses them for every call after the
 * first few. See docs/architecture.md for the layout.
 */
export class Arena {
  private regions = new Map<string, Region>();
  /** How many SharedArrayBuffers have been allocated so far (a leak/reuse indicator for tests). */
  allocations = 0;

  /** Bytes currently held, for diagnostics. */
  get bytes(): number {
    let n = 0;
    for (const r of this.regions.values()) n += r.sab.byteLength;
    return n;
  }

  /**
   * Makes sure region `spec` holds at least `length` elements. Growing loses the old contents unless
   * `preserve` is set.
   */
  ensure(spec: RegionSpec, length: number, preserve = false): void {
    const { name, kind } = spec;
    const r = this.regions.get(name);
    if (r && r.kind === kind && r.capacity >= length) return;
    const capacity = r && r.kind === kind ? Math.max(length, Math.ceil(r.capacity * 1.5)) : Math.max(length, 1);
    const sab = new SharedArrayBuffer(capacity * BYTES[kind]);
    this.allocations++;
    if (r && r.kind === kind && preserve) new Uint8Array(sab).set(new Uint8Array(r.sab));
    this.regions.set(name, { kind, sab, capacity });
  }

  /** A typed view of region `spec`, of exactly `length` elements (default: its capacity). */
  view<K extends RegionKind>(spec: RegionSpec<K>, length?: number): View<K> {
    const r = this.regions.get(spec.name);
    if (!r || r.kind !== spec.kind) throw new Error(`arena: no ${spec.kind} region '${spec.name}'`);
    return makeView(spec.kind, r.sab, length ?? r.capacity);
  }

  /** Whether `view` is the start of region `spec`'s memory (a caller filled our own buffer). */
  owns(spec: RegionSpec, view: ArrayBufferView): boolean {
    return this.regions.get(spec.name)?.sab === view.buffer && view.byteOffset === 0;
  }

  /** Whether `buffer` is one of this arena's regions. */
  holds(buffer: ArrayBufferLike): boolean {
    for (const r of this.regions.values()) if (r.sab === buffer) return true;
    return false;
  }

  /** The handles to send to workers (sharing, not copying, the memory). */
  handles(): RegionHandles {
    const out: RegionHandles = {};
    for (const [name, r] of this.regions) out[name] = { sab: r.sab, kind: r.kind };
    return out;
  }
}
