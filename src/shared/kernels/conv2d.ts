/**
 * Conv2D on wasm, wrapped for a single input channel: a conv net's first layer ([32, 28, 28, 1] by a
 * [3, 3, 1, 16] filter in every chunk of the benchmark's), where XNNPACK's indirect GEMM runs with an
 * inner dimension of 1 and reaches 4.3 GMAC/s against 13 with 16 input channels (measured here). This
 * is a direct convolution, one WebAssembly module per geometry with every tap's offset a constant,
 * one output pixel at a time, eight channels a pass over the taps.
 *
 * Same bits: XNNPACK sums each output from +0 (no bias), adding the float32 products x·w of the taps
 * in row-major order (ky, then kx), each product and sum rounded to float32; so does this (tested bit
 * for bit against wasm's kernel, which was found to do exactly that). Taken for NHWC float32 input of
 * one channel, a filter of a multiple of 4 output channels (at most {@link MAX_CHANNELS}) and at most
 * {@link MAX_TAPS} taps, any strides and dilations, no padding; every other Conv2D runs wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, wrapKernel } from './compose.js';
import { wasmMemory } from './simd.js';
import { ADD, BLOCK, BR, BR_IF, END, EQZ, F32_ADD, F32_MUL, get, i32c, I32T, importedMemoryKernel, LOOP, loadAt, oneKernelModule, set, simd, storeAt, SUB, uleb, V128T, vconst, VOID } from '../wasm-encode.js';

/** The most output channels taken: the module holds a load per tap for every 4 of them. */
export const MAX_CHANNELS = 64;
/**
 * The most filter taps taken (a 5x5 filter: 1.1x wasm's speed at 16 channels; a 7x7 was slower, 0.89x).
 * At 3x3: 1.55-1.9x from 8 to 64 channels, 3.6x at 4 (a [32, 28, 28, 1] chunk).
 */
export const MAX_TAPS = 25;

/** What a module is specialised for: every offset below is a constant of it. */
interface Geometry {
  KH: number; KW: number; H: number; W: number; OH: number; OW: number; C: number;
  sh: number; sw: number; dh: number; dw: number;
}

/**
 * Channels summed per pass over the taps. Two sums at a time ran fastest of the layouts tried (1-6
 * pixels by 4-16 channels, on [32, 28, 28, 1] by 3x3x16 and by 5x5x32): 0.29 ms against 0.32-0.59.
 */
const BLOCK_CHANNELS = 8;
const splatAt = (off: number) => simd(0x09, 2, ...uleb(off)); // v128.load32_splat
const ZERO = vconst(new Array<number>(16).fill(0));
const I32_MAX_S = simd(0xb8);
// conv(x, w, y, n, b, r). Locals: i32 6 xi (image), 7 xr (row), 8 xp (pixel), 9 yp, 10 rows left,
// 11 columns left, 12 rp; v128 13 the tap's input, 14 a filter vector, 15-16 the sums.
const [X, WP, Y, N, BP, RO, XI, XR, XP, YP, R, CC, RP, V, WV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
const SUMS = [15, 16];

/**
 * What follows the sums (fused by the trace, conv2d-bias.ts): nothing; plus the bias b (one float32
 * sum, as wasm's Add then computes it); or that, and also relu of it into r, as wasm's Relu computes
 * it (XNNPACK's integer max with 0: a value with its sign bit set, -0 and -NaN included, becomes +0).
 */
export type Epilogue = 'none' | 'bias' | 'biasRelu';

/** The output pixel at xp, yp: for each block of channels, the sums from +0 over the taps in row-major order, stored. */
function pixel(g: Geometry, epilogue: Epilogue): number[] {
  const taps: number[] = [];
  for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) taps.push((ky * g.dh * g.W + kx * g.dw) * 4);
  const code: number[] = [];
  for (let c0 = 0; c0 < g.C; c0 += BLOCK_CHANNELS) {
    const sums = SUMS.slice(0, Math.min(BLOCK_CHANNELS, g.C - c0) / 4);
    code.push(...sums.flatMap((s) => [...ZERO, ...set(s)]));
    taps.forEach((off, t) => {
      code.push(...get(XP), ...splatAt(off), ...set(V));
      // x·w, then the sum plus it: XNNPACK's operand order.
      sums.forEach((s, j) => code.push(...get(s), ...get(V), ...get(WP), ...loadAt((t * g.C + c0 + 4 * j) * 4), ...F32_MUL, ...F32_ADD, ...set(s)));
    });
    sums.forEach((s, j) => {
      const off = (c0 + 4 * j) * 4;
      if (epilogue !== 'none') code.push(...get(s), ...get(BP), ...loadAt(off), ...F32_ADD, ...set(s));
      code.push(...get(YP), ...get(s), ...storeAt(off));
      if (epilogue === 'biasRelu') code.push(...get(RP), ...get(s), ...ZERO, ...I32_MAX_S, ...storeAt(off));
    });
  }
  return code;
}

const step = (p: number, bytes: number) => [...get(p), ...i32c(bytes), ADD, ...set(p)];

/** The loops over images, output rows and output columns. */
function moduleFor(g: Geometry, epilogue: Epilogue): Uint8Array {
  const body = [
    ...get(X), ...set(XI), ...get(Y), ...set(YP), ...get(RO), ...set(RP),
    BLOCK, VOID, LOOP, VOID,
    ...get(N), EQZ, BR_IF, 1,
    ...get(XI), ...set(XR), ...i32c(g.OH), ...set(R),
    BLOCK, VOID, LOOP, VOID,
    ...get(R), EQZ, BR_IF, 1,
    ...get(XR), ...set(XP), ...i32c(g.OW), ...set(CC),
    BLOCK, VOID, LOOP, VOID,
    ...get(CC), EQZ, BR_IF, 1,
    ...pixel(g, epilogue),
    ...step(XP, g.sw * 4), ...step(YP, g.C * 4), ...(epilogue === 'biasRelu' ? step(RP, g.C * 4) : []), ...step(CC, -1),
    BR, 0, END, END,
    ...step(XR, g.sh * g.W * 4), ...step(R, -1),
    BR, 0, END, END,
    ...step(XI, g.H * g.W * 4), ...step(N, -1),
    BR, 0, END, END, END,
  ];
  return oneKernelModule('conv', 6, [[7, I32T], [4, V128T]], body);
}

type ConvModule = (memory: unknown) => { conv(x: number, w: number, y: number, n: number, b: number, r: number): void } | null;
/** One module per geometry and epilogue, made on first use (a conv net has a handful). */
const modules = new Map<string, ConvModule>();

function kernelFor(g: Geometry, epilogue: Epilogue, memory: unknown) {
  const key = `${Object.values(g).join(',')}|${epilogue}`;
  let m = modules.get(key);
  if (!m) modules.set(key, (m = importedMemoryKernel(moduleFor(g, epilogue))));
  return m(memory);
}

/**
 * Runs the direct convolution of `x` by `filter` (a call {@link conv2dTakes}) on `backend`, with
 * `epilogue` (`bias` then given): its outputs, one, or two with relu. Null without WebAssembly SIMD.
 */
export function directConv2D(backend: tf.KernelBackend, x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap, epilogue: Epilogue = 'none', bias?: tf.TensorInfo): tf.TensorInfo[] | null {
  const g = geometry(x, filter, attrs);
  const k = g ? kernelFor(g, epilogue, wasmMemory(backend)) : null;
  if (!g || !k) return null;
  const n = x.shape[0]!;
  const shape = [n, g.OH, g.OW, g.C];
  if (epilogue !== 'biasRelu')
    return [heapKernel(backend, shape, (c, out) => k.conv(c.heapOffset(x), c.heapOffset(filter), out, n, bias ? c.heapOffset(bias) : 0, 0))];
  const relu = heapKernel(backend, shape, () => undefined); // written by the call below
  try {
    const z = heapKernel(backend, shape, (c, out) => k.conv(c.heapOffset(x), c.heapOffset(filter), out, n, c.heapOffset(bias!), c.heapOffset(relu)));
    return [z, relu];
  } catch (e) {
    backend.disposeData(relu.dataId);
    throw e;
  }
}

/** Whether the wrapper takes Conv2D of `x` by `filter` with `attrs` (else wasm's kernel runs it). */
export const conv2dTakes = (x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap): boolean => geometry(x, filter, attrs) !== null;

/** The geometry when this kernel takes the call, else null. */
function geometry(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap): Geometry | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (dataFormat !== 'NHWC' || x.shape[3] !== 1 || filter.shape[2] !== 1) return null;
  const [KH, KW, , C] = filter.shape as [number, number, number, number];
  if (C % 4 !== 0 || C > MAX_CHANNELS || KH * KW > MAX_TAPS) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
  const p = info.padInfo;
  if (p.top !== 0 || p.left !== 0 || p.bottom !== 0 || p.right !== 0 || info.outHeight <= 0 || info.outWidth <= 0) return null;
  return { KH, KW, H: info.inHeight, W: info.inWidth, OH: info.outHeight, OW: info.outWidth, C, sh: info.strideHeight, sw: info.strideWidth, dh: info.dilationHeight, dw: info.dilationWidth };
}

/** The config that runs one-channel convolutions directly and every other Conv2D as `original` (wasm's). */
export function wrapConv2D(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    return directConv2D(backend as tf.KernelBackend, x, filter, attrs ?? {})?.[0] ?? null;
  });
}
