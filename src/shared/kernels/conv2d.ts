/**
 * Conv2D on wasm, wrapped for a single input channel: a conv net's first layer ([32, 28, 28, 1] by a
 * [3, 3, 1, 16] filter in every chunk of the benchmark's), where XNNPACK's indirect GEMM runs with an
 * inner dimension of 1 and reaches 4.3 GMAC/s against 13 with 16 input channels (measured here). This
 * is a direct convolution, one WebAssembly module per geometry with every tap's offset a constant,
 * four output channels at a time with their filter held in locals.
 *
 * Same bits: XNNPACK sums each output from +0 (no bias), adding the float32 products x·w of the taps
 * in row-major order (ky, then kx), each product and sum rounded to float32; so does this (tested bit
 * for bit against wasm's kernel, which was found to do exactly that). Taken for NHWC float32 input of
 * one channel, a filter of a multiple of 4 output channels (at most {@link MAX_CHANNELS}) and at most
 * {@link MAX_TAPS} taps, any strides, dilations and padding (as a zero-filled copy, see directConv2D);
 * every other Conv2D runs wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { type Composer, heapKernel, wrapKernel } from './compose.js';
import { wasmMemory } from './simd.js';
import { ADD, BLOCK, BR, BR_IF, END, EQZ, F32_ADD, F32_MUL, get, i32c, I32T, importedMemoryKernel, LOOP, loadAt, oneKernelModule, set, simd, storeAt, SUB, uleb, V128T, vconst, VOID } from '../wasm-encode.js';

/** The most output channels taken: the module holds a load per tap for every 4 of them. */
export const MAX_CHANNELS = 64;
/**
 * The most filter taps taken (a 5x5 filter: 1.36x wasm's speed at 16 channels; a 7x7 was no faster).
 * At 3x3: 1.8-2.3x from 16 to 64 channels, 5x at 4 (a [32, 28, 28, 1] chunk).
 */
export const MAX_TAPS = 25;

/** What a module is specialised for: every offset below is a constant of it. */
interface Geometry {
  /** H and W are the padded input's. */
  KH: number; KW: number; H: number; W: number; OH: number; OW: number; C: number;
  sh: number; sw: number; dh: number; dw: number;
}
/** A call's geometry and its padding, [[0, 0], [top, bottom], [left, right], [0, 0]]. */
type Call = Geometry & { pad: number[][] };

const splatAt = (off: number) => simd(0x09, 2, ...uleb(off)); // v128.load32_splat
const ZERO = vconst(new Array<number>(16).fill(0));
const [I32_MAX_S, LT_U] = [simd(0xb8), 0x49];
// conv(x, w, y, n, b, r). Locals: i32 6 xi (image), 7 xr (row), 8 xp (pixel), 9 yp, 10 rows left,
// 11 columns left, 12 rp, 13 images left; v128 from 14: the taps' inputs and the sums of each pixel
// of a step, the bias, then one filter vector per tap.
const [X, WP, Y, N, BP, RO, XI, XR, XP, YP, R, CC, RP, NL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

/**
 * Where the bias goes, and what follows the sums:
 * - `none`: no bias (Conv2D);
 * - `bias`: added after the sums, one float32 sum, as wasm's Add then computes it (fused by the trace,
 *   conv2d-bias.ts); `biasRelu`: also relu of that into r, as wasm's Relu computes it (XNNPACK's integer
 *   max with 0: a value with its sign bit set, -0 and -NaN included, becomes +0);
 * - `fused`: the sums start from the bias instead of +0, as XNNPACK's FusedConv2D computes them;
 *   `fusedRelu`: then its relu clamp, a float max with +0 (NaN stays NaN, -0 becomes +0: found against
 *   its outputs), here as pmax(a, 0) + 0, two instructions where V8 lowers f32x4.max to several
 *   (0.31 against 0.22 ms linear on a [32, 28, 28, 1] chunk).
 */
export type Epilogue = 'none' | 'bias' | 'biasRelu' | 'fused' | 'fusedRelu';
const F32_PMAX = simd(0xeb);

const step = (p: number, bytes: number) => [...get(p), ...i32c(bytes), ADD, ...set(p)];

/**
 * Four output channels at a time, over every pixel, with their filter vectors held in locals (one per
 * tap) and each pixel's sum from +0 over the taps in row-major order. Of the layouts tried, this ran
 * fastest: 0.205 ms on [32, 28, 28, 1] by 3x3x16, against 0.29 for 8 channels a pass with the filter
 * loaded per tap and 0.32-0.59 for 1-6 pixels by 4-16 channels that way. One pixel a step up to 9
 * taps, two beyond (5x5: 0.72 against 0.81 ms).
 */
function moduleFor(g: Geometry, epilogue: Epilogue): Uint8Array {
  const taps: number[] = [];
  for (let ky = 0; ky < g.KH; ky++) for (let kx = 0; kx < g.KW; kx++) taps.push((ky * g.dh * g.W + kx * g.dw) * 4);
  const pixels = taps.length > 9 ? 2 : 1;
  const V = Array.from({ length: pixels }, (_, q) => 14 + q);
  const SUM = V.map((v) => v + pixels);
  const BV = 14 + 2 * pixels;
  const W = taps.map((_, t) => BV + 1 + t);
  const fused = epilogue === 'fused' || epilogue === 'fusedRelu';
  /** `count` adjacent output pixels at xp, yp (and rp) for the channels from c0. */
  const pixelStep = (count: number, c0: number) => [
    ...SUM.slice(0, count).flatMap((s) => [...(fused ? get(BV) : ZERO), ...set(s)]),
    ...taps.flatMap((off, t) => [
      ...V.slice(0, count).flatMap((v, q) => [...get(XP), ...splatAt(off + q * g.sw * 4), ...set(v)]),
      // x·w, then the sum plus it: XNNPACK's operand order.
      ...SUM.slice(0, count).flatMap((s, q) => [...get(s), ...get(V[q]!), ...get(W[t]!), ...F32_MUL, ...F32_ADD, ...set(s)]),
    ]),
    ...SUM.slice(0, count).flatMap((s, q) => {
      const off = (q * g.C + c0) * 4;
      return [
        ...(epilogue === 'bias' || epilogue === 'biasRelu' ? [...get(s), ...get(BV), ...F32_ADD, ...set(s)] : []),
        ...(epilogue === 'fusedRelu' ? [...get(s), ...ZERO, ...F32_PMAX, ...ZERO, ...F32_ADD, ...set(s)] : []),
        ...get(YP), ...get(s), ...storeAt(off),
        ...(epilogue === 'biasRelu' ? [...get(RP), ...get(s), ...ZERO, ...I32_MAX_S, ...storeAt(off)] : []),
      ];
    }),
    ...step(XP, count * g.sw * 4), ...step(YP, count * g.C * 4), ...(epilogue === 'biasRelu' ? step(RP, count * g.C * 4) : []), ...step(CC, -count),
  ];
  const body: number[] = [];
  for (let c0 = 0; c0 < g.C; c0 += 4)
    body.push(
      ...taps.flatMap((_, t) => [...get(WP), ...loadAt((t * g.C + c0) * 4), ...set(W[t]!)]),
      ...(epilogue !== 'none' ? [...get(BP), ...loadAt(c0 * 4), ...set(BV)] : []),
      ...get(X), ...set(XI), ...get(Y), ...set(YP), ...get(RO), ...set(RP), ...get(N), ...set(NL),
      BLOCK, VOID, LOOP, VOID,
      ...get(NL), EQZ, BR_IF, 1,
      ...get(XI), ...set(XR), ...i32c(g.OH), ...set(R),
      BLOCK, VOID, LOOP, VOID,
      ...get(R), EQZ, BR_IF, 1,
      ...get(XR), ...set(XP), ...i32c(g.OW), ...set(CC),
      BLOCK, VOID, LOOP, VOID,
      ...get(CC), ...i32c(pixels), LT_U, BR_IF, 1,
      ...pixelStep(pixels, c0),
      BR, 0, END, END,
      ...(pixels > 1 ? [BLOCK, VOID, ...get(CC), EQZ, BR_IF, 0, ...pixelStep(1, c0), END] : []),
      ...step(XR, g.sh * g.W * 4), ...step(R, -1),
      BR, 0, END, END,
      ...step(XI, g.H * g.W * 4), ...step(NL, -1),
      BR, 0, END, END,
    );
  return oneKernelModule('conv', 6, [[8, I32T], [2 * pixels + 1 + taps.length, V128T]], [...body, END]);
}

type ConvModule = (memory: unknown) => { conv(x: number, w: number, y: number, n: number, b: number, r: number): void } | null;
/** One module per geometry and epilogue, made on first use (a conv net has a handful). */
const modules = new Map<string, ConvModule>();
/** Modules kept, the least recently used dropped first: images of ever new sizes must not pile up compiled code. */
export const MAX_MODULES = 64;
/** Test hook: how many modules are kept. */
export const directConvModules = (): number => modules.size;

function kernelFor(g: Geometry, epilogue: Epilogue, memory: unknown) {
  const key = `${[g.KH, g.KW, g.H, g.W, g.OH, g.OW, g.C, g.sh, g.sw, g.dh, g.dw].join(',')}|${epilogue}`;
  const m = modules.get(key) ?? importedMemoryKernel<ReturnType<ConvModule> & object>(moduleFor(g, epilogue));
  modules.delete(key); // most recently used last
  modules.set(key, m);
  if (modules.size > MAX_MODULES) modules.delete(modules.keys().next().value!);
  return m(memory);
}

/**
 * Runs the direct convolution of `x` by `filter` (a call {@link conv2dTakes}) on `backend`, with
 * `epilogue` (`bias` then given): its outputs, one, or two with relu. Null without WebAssembly SIMD.
 */
export function directConv2D(backend: tf.KernelBackend, x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap, epilogue: Epilogue = 'none', bias?: tf.TensorInfo): tf.TensorInfo[] | null {
  const call = geometry(x, filter, attrs);
  if (!call) return null;
  const { pad, ...g } = call;
  const k = kernelFor(g, epilogue, wasmMemory(backend));
  if (!k) return null;
  const n = x.shape[0]!;
  const shape = [n, g.OH, g.OW, g.C];
  // Padding as a zero-filled copy: XNNPACK adds the products of the padding's zeros too (0·∞ is NaN
  // there; checked against its outputs), so the valid convolution of the copy has its bits. The views
  // are taken after the copy's allocation, which may grow the heap.
  const input = (c: Composer) => c.heapOffset(pad.flat().some((p) => p > 0) ? padded(c, x, g, pad) : x);
  const run = (c: Composer, out: number, relu: number) => k.conv(input(c), c.heapOffset(filter), out, n, bias ? c.heapOffset(bias) : 0, relu);
  if (epilogue !== 'biasRelu') return [heapKernel(backend, shape, (c, out) => run(c, out, 0))];
  const relu = heapKernel(backend, shape, () => undefined); // written by the call below
  try {
    const z = heapKernel(backend, shape, (c, out) => run(c, out, c.heapOffset(relu)));
    return [z, relu];
  } catch (e) {
    backend.disposeData(relu.dataId);
    throw e;
  }
}

/** `x` [n, h, w, 1] copied into zeros of the padded size, row by row (wasm's PadV2 took 0.47 ms for a [32, 28, 28, 1] chunk; this 0.02-0.05). */
function padded(c: Composer, x: tf.TensorInfo, g: Geometry, pad: number[][]): tf.TensorInfo {
  const [n, h, w] = x.shape as [number, number, number];
  const [top, left] = [pad[1]![0]!, pad[2]![0]!];
  const out = c.heapOutput([n, g.H, g.W, 1]);
  const [src, dst] = [c.heapView(x), out.values];
  for (let b = 0; b < n; b++)
    for (let r = 0; r < h; r++) dst.set(src.subarray((b * h + r) * w, (b * h + r + 1) * w), (b * g.H + top + r) * g.W + left);
  return out.info;
}

/** Whether the wrapper takes Conv2D of `x` by `filter` with `attrs` (else wasm's kernel runs it). */
export const conv2dTakes = (x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap): boolean => geometry(x, filter, attrs) !== null;

/** The geometry when this kernel takes the call, else null. */
function geometry(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap): Call | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (dataFormat !== 'NHWC' || x.shape[3] !== 1 || filter.shape[2] !== 1) return null;
  const [KH, KW, , C] = filter.shape as [number, number, number, number];
  if (C % 4 !== 0 || C > MAX_CHANNELS || KH * KW > MAX_TAPS) return null;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const g = { KH, KW, H: info.inHeight + top + bottom, W: info.inWidth + left + right, OH: info.outHeight, OW: info.outWidth, C, sh: info.strideHeight, sw: info.strideWidth, dh: info.dilationHeight, dw: info.dilationWidth };
  // The padded input's valid convolution must have exactly the output's size (it has, but for a
  // rounding mode that drops input rows the padding does not account for).
  const fits = (inLen: number, taps: number, dil: number, stride: number, out: number) => out > 0 && Math.floor((inLen - (taps - 1) * dil - 1) / stride) + 1 === out;
  if (!fits(g.H, KH, g.dh, g.sh, g.OH) || !fits(g.W, KW, g.dw, g.sw, g.OW)) return null;
  return { ...g, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] };
}

/** The config that runs one-channel convolutions directly and every other Conv2D as `original` (wasm's). */
export function wrapConv2D(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    return directConv2D(backend as tf.KernelBackend, x, filter, attrs ?? {})?.[0] ?? null;
  });
}
