/**
 * Float64 discrete Fourier transforms for the PRV accountant, whose grids have arbitrary even sizes
 * (e.g. 505784 points) and whose composition is a *circular* convolution of exactly that size, as
 * scipy's `rfft`/`irfft` compute it. Zero-padding to a power of two would change which mass wraps
 * around, so arbitrary lengths go through Bluestein's chirp-z algorithm (Bluestein 1970; Rabiner,
 * Schafer & Rader 1969), which expresses a length-N DFT as a convolution of length M >= 2N - 1 done
 * with power-of-two radix-2 FFTs (Cooley & Tukey 1965).
 *
 * Accuracy: twiddles and chirps are computed directly from exact integer angles (k² mod 2N for the
 * chirp), never by recurrence, so the round-off is O(ε log M) relative to the signal's norm.
 */

/**
 * Cached twiddle tables per power-of-two size n, laid out stage by stage so the butterflies read them
 * sequentially: for the stage of length len, entries [len/2 - 1, len - 1) hold cos and sin of
 * 2πk/len for k < len/2 (n - 1 entries in all).
 */
const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array }>();
function twiddleTable(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddles.get(n);
  if (!t) {
    const cos = new Float64Array(Math.max(1, n - 1));
    const sin = new Float64Array(Math.max(1, n - 1));
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >> 1;
      for (let k = 0; k < half; k++) {
        // The angle of the largest table, reduced: same bits for every stage that shares it.
        const a = (2 * Math.PI * k * (n / len)) / n;
        cos[half - 1 + k] = Math.cos(a);
        sin[half - 1 + k] = Math.sin(a);
      }
    }
    t = { cos, sin };
    if (twiddles.size > 8) twiddles.clear(); // the accountant uses a handful of sizes at a time
    twiddles.set(n, t);
  }
  return t;
}

export const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
export const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * In-place radix-2 FFT of (re, im), length a power of two. `inverse` uses e^{+2πi jk/n} and does
 * NOT divide by n (callers scale once, where it is cheapest).
 */
export function fftRadix2(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (!isPowerOfTwo(n) || im.length !== n) throw new Error(`internal: fftRadix2 needs equal power-of-two lengths, got ${n} and ${im.length}`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  const { cos, sin } = twiddleTable(n);
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const base = half - 1;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[base + k]!;
        const wi = sign * sin[base + k]!;
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** Bluestein's chirp w_k = e^{-iπk²/n} and the FFT of its conjugate, zero-padded to m, per length n. */
const chirps = new Map<number, { m: number; wr: Float64Array; wi: Float64Array; br: Float64Array; bi: Float64Array }>();
function chirpOf(n: number) {
  let c = chirps.get(n);
  if (!c) {
    const m = nextPowerOfTwo(2 * n - 1);
    const wr = new Float64Array(n);
    const wi = new Float64Array(n);
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      // k² mod 2n is exact in float64 for k < 2^26, so the angle carries no accumulated error.
      const angle = (Math.PI * ((k * k) % (2 * n))) / n;
      wr[k] = Math.cos(angle);
      wi[k] = -Math.sin(angle);
      br[k] = wr[k]!;
      bi[k] = -wi[k]!;
      if (k > 0) {
        br[m - k] = wr[k]!;
        bi[m - k] = -wi[k]!;
      }
    }
    fftRadix2(br, bi);
    c = { m, wr, wi, br, bi };
    if (chirps.size > 4) chirps.clear();
    chirps.set(n, c);
  }
  return c;
}

/**
 * The DFT X_k = Σ_j x_j e^{∓2πi jk/n} of any length, in place; `inverse` (e^{+…}) does not divide by n.
 * Powers of two go straight to radix 2, other lengths through Bluestein.
 */
export function dft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n) throw new Error('internal: dft needs equal lengths');
  if (n <= 1) return;
  if (isPowerOfTwo(n)) return fftRadix2(re, im, inverse);
  // The inverse transform is conj(DFT(conj(x))).
  if (inverse) for (let k = 0; k < n; k++) im[k] = -im[k]!;
  const { m, wr, wi, br, bi } = chirpOf(n);
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
    ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
  }
  fftRadix2(ar, ai);
  for (let k = 0; k < m; k++) {
    const r = ar[k]! * br[k]! - ai[k]! * bi[k]!;
    ai[k] = ar[k]! * bi[k]! + ai[k]! * br[k]!;
    ar[k] = r;
  }
  fftRadix2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const cr = ar[k]! / m;
    const ci = ai[k]! / m;
    re[k] = cr * wr[k]! - ci * wi[k]!;
    im[k] = (cr * wi[k]! + ci * wr[k]!) * (inverse ? -1 : 1);
  }
}

/**
 * irfft(rfft(p) ** power) of a real, even-length p: the `power`-fold circular self-convolution, as
 * Opacus's `_compose_fourier` computes it with scipy. The real transform runs as a complex DFT of
 * half the length (even samples real, odd samples imaginary), which halves the work.
 */
export function circularSelfConvolve(p: Float64Array, power: number): Float64Array {
  const n = p.length;
  if (n % 2 !== 0) throw new Error('internal: circularSelfConvolve needs an even length');
  const h = n / 2;
  const zr = new Float64Array(h);
  const zi = new Float64Array(h);
  for (let j = 0; j < h; j++) {
    zr[j] = p[2 * j]!;
    zi[j] = p[2 * j + 1]!;
  }
  dft(zr, zi);
  // X_k = E_k + W^k O_k, k = 0..h, with E, O the DFTs of the even and odd samples and W = e^{-2πi/n}.
  const xr = new Float64Array(h + 1);
  const xi = new Float64Array(h + 1);
  for (let k = 0; k <= h; k++) {
    const a = k % h;
    const b = (h - k) % h;
    const er = (zr[a]! + zr[b]!) / 2;
    const ei = (zi[a]! - zi[b]!) / 2;
    const or = (zi[a]! + zi[b]!) / 2; // (Z_a - conj Z_b) / 2i
    const oi = -(zr[a]! - zr[b]!) / 2;
    const c = Math.cos((2 * Math.PI * k) / n);
    const s = -Math.sin((2 * Math.PI * k) / n);
    let re = er + (or * c - oi * s);
    let im = ei + (or * s + oi * c);
    if (power !== 1) {
      const r = Math.pow(Math.hypot(re, im), power);
      const t = power * Math.atan2(im, re);
      re = r * Math.cos(t);
      im = r * Math.sin(t);
    }
    xr[k] = re;
    xi[k] = im;
  }
  // Back: E_k = (X_k + conj X_{h-k}) / 2, O_k = (X_k - conj X_{h-k}) / (2 W^k), Z_k = E_k + i O_k.
  for (let k = 0; k < h; k++) {
    const b = h - k;
    const er = (xr[k]! + xr[b]!) / 2;
    const ei = (xi[k]! - xi[b]!) / 2;
    const dr = (xr[k]! - xr[b]!) / 2;
    const di = (xi[k]! + xi[b]!) / 2;
    const c = Math.cos((2 * Math.PI * k) / n);
    const s = Math.sin((2 * Math.PI * k) / n); // multiply by W^{-k} = c + i s
    const or = dr * c - di * s;
    const oi = dr * s + di * c;
    zr[k] = er - oi;
    zi[k] = ei + or;
  }
  dft(zr, zi, true);
  const out = new Float64Array(n);
  for (let j = 0; j < h; j++) {
    out[2 * j] = zr[j]! / h;
    out[2 * j + 1] = zi[j]! / h;
  }
  return out;
}

/**
 * The central `a.length` values of the full linear convolution a * b (scipy.signal.convolve's
 * mode="same" for equal lengths: full[(n-1)>>1 …]), by zero-padded power-of-two FFTs.
 */
export function convolveSame(a: Float64Array, b: Float64Array): Float64Array {
  const n = a.length;
  if (b.length !== n) throw new Error('internal: convolveSame needs equal lengths');
  const m = nextPowerOfTwo(2 * n - 1);
  // Both real: transform a + i b once and separate the spectra by conjugate symmetry.
  const zr = new Float64Array(m);
  const zi = new Float64Array(m);
  zr.set(a);
  zi.set(b);
  fftRadix2(zr, zi);
  const pr = new Float64Array(m);
  const pi = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const j = (m - k) % m;
    const ar = (zr[k]! + zr[j]!) / 2; // A_k = (Z_k + conj Z_{m-k}) / 2
    const ai = (zi[k]! - zi[j]!) / 2;
    const br = (zi[k]! + zi[j]!) / 2; // B_k = (Z_k - conj Z_{m-k}) / 2i
    const bi = -(zr[k]! - zr[j]!) / 2;
    pr[k] = ar * br - ai * bi;
    pi[k] = ar * bi + ai * br;
  }
  fftRadix2(pr, pi, true);
  const start = (n - 1) >> 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = pr[start + i]! / m;
  return out;
}
