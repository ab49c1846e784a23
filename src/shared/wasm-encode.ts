/**
 * Just enough of the WebAssembly binary format to write small SIMD modules by hand (no toolchain):
 * LEB128 integers, sections and vectors, the opcodes our kernels use, and the slice of the
 * WebAssembly API they are instantiated with. Used by the tfjs-wasm kernels (kernels/simd.ts), the
 * optimizer kernels (optim/adam-simd.ts) and the reduction of partial rows (reduce-simd.ts).
 */

/** Unsigned LEB128. */
export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
/** Signed LEB128 (i32.const immediates). */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
/** i32.const of any value. */
export const i32c = (n: number): number[] => [0x41, ...sleb(n)];
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
/** A 0xfd-prefixed SIMD instruction with its immediates. */
export const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
/** A function body: its local declarations, then its code. */
export const code = (locals: number[], body: number[]) => [...uleb(locals.length + body.length), ...locals, ...body];
/** A name (import, export). */
export const name = (str: string) => [...uleb(str.length), ...[...str].map((c) => c.charCodeAt(0))];
/** Core opcodes used by the kernels: locals, i32 arithmetic and comparisons, structured control flow. */
export const [GET, SET, I32, ADD, SHL, EQ, EQZ, SUB] = [0x20, 0x21, 0x41, 0x6a, 0x74, 0x46, 0x45, 0x6b];
export const [BLOCK, LOOP, BR, BR_IF, END, VOID] = [0x02, 0x03, 0x0c, 0x0d, 0x0b, 0x40];
export const get = (local: number) => [GET, local];
export const set = (local: number) => [SET, local];
/** v128.load / v128.store at a constant byte offset from the address on the stack. */
export const loadAt = (off: number) => simd(0x00, 0, ...uleb(off));
export const storeAt = (off: number) => simd(0x0b, 0, ...uleb(off));
/** f32x4 arithmetic and comparison. */
export const [F32_SPLAT, F32_SQRT, F32_ADD, F32_MUL, F32_DIV, F32_EQ] = [simd(0x13), simd(0xe3), simd(0xe4), simd(0xe6), simd(0xe7), simd(0x41)];
/** A v128 constant, and one splatting a float32 or an int32 into every lane. */
export const vconst = (bytes: number[]) => simd(0x0c, ...bytes);
export const splatF = (v: number) => vconst([...new Uint8Array(new Float32Array([v, v, v, v]).buffer)]);
export const splatI = (v: number) => vconst([...new Uint8Array(new Int32Array([v, v, v, v]).buffer)]);
/** Lane masks: f32x4 comparisons, i32x4.eq, and the bitwise v128 operations. */
export const [F32_GT, F32_NE, I32_EQ, AND, OR, BITSELECT] = [simd(0x44), simd(0x42), simd(0x37), simd(0x4e), simd(0x50), simd(0x52)];
/** f64x2 arithmetic. */
export const [F64_SPLAT, F64_ADD, F64_MUL, F64_DIV] = [simd(0x14), simd(0xf0), simd(0xf2), simd(0xf3)];

/** The module header: "\0asm", version 1. */
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const I32T = 0x7f;
export const F32T = 0x7d;
export const F64T = 0x7c;
export const V128T = 0x7b;

/**
 * A module of one exported function `fn` of `params` i32 parameters (no result), its locals
 * (`[count, type]` groups) and body, over a memory it imports as `env.mem`: the shape of a kernel that
 * works in place in tfjs-backend-wasm's heap ({@link importedMemoryKernel} instantiates it).
 */
export function oneKernelModule(fn: string, params: number, locals: [number, number][], body: number[]): Uint8Array {
  return new Uint8Array([
    ...HEADER,
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(params).fill([I32T])), 0]])), // (i32 x params) -> ()
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x00]])), // import memory env.mem, min 0 pages
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name(fn), 0x00, 0]])),
    ...section(10, vec([code(vec(locals), body)])),
  ]);
}

/** The slice of the WebAssembly API used (this project's TypeScript libs do not declare it). */
export interface WasmApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
export const WASM_API = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/**
 * A kernel module that works in memory it imports as `env.mem` (tfjs-backend-wasm's heap), one
 * instance per memory, made on first use: its exports, or null where the engine has no WebAssembly
 * SIMD or `memory` is not a WebAssembly.Memory (the caller then runs its JavaScript loop).
 */
export function importedMemoryKernel<K>(bytes: Uint8Array): (memory: unknown) => K | null {
  const instances = new WeakMap<object, K | null>();
  return (memory) => {
    if (!WASM_API || !(memory instanceof WASM_API.Memory)) return null;
    let k = instances.get(memory);
    if (k === undefined) {
      k = WASM_API.validate(bytes) ? (new WASM_API.Instance(new WASM_API.Module(bytes), { env: { mem: memory } }).exports as K) : null;
      instances.set(memory, k);
    }
    return k;
  };
}

/**
 * A kernel module that owns its memory, instantiated on the first call in this thread: its exports
 * and a typed view of its memory, or null where the engine has no WebAssembly SIMD (the caller then
 * runs its JavaScript loop).
 */
export function ownMemoryKernel<K extends { mem: { buffer: ArrayBuffer } }, H>(bytes: Uint8Array, view: (memory: ArrayBuffer) => H): () => { k: K; heap: H } | null {
  let instance: { k: K; heap: H } | null | undefined;
  return () => {
    if (instance === undefined) {
      const k = WASM_API?.validate(bytes) ? (new WASM_API.Instance(new WASM_API.Module(bytes), {}).exports as K) : null;
      instance = k && { k, heap: view(k.mem.buffer) };
    }
    return instance;
  };
}
