/**
 * Adaptive Gauss–Kronrod quadrature (the 21-point rule of QUADPACK's QK21, Piessens et al. 1983),
 * for the PRV accountant's mean of a truncated privacy loss distribution, where Opacus calls
 * `scipy.integrate.quad` (QUADPACK QAGS) with its default tolerances. The integrands there are
 * smooth CDFs, so global bisection of the interval with the largest error estimate (QAG) converges
 * without QAGS's ε-algorithm extrapolation.
 */

// QK21 abscissae (xgk[1,3,…] are the 10-point Gauss nodes) and weights, from QUADPACK's dqk21.f.
const XGK = [
  0.995657163025808080735527280689003, 0.973906528517171720077964012084452, 0.930157491355708226001207180059508,
  0.865063366688984510732096688423493, 0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
  0.562757134668604683339000099272694, 0.433395394129247190799265943165784, 0.294392862701460198131126603103866,
  0.14887433898163121088482600112972, 0,
];
const WGK = [
  0.011694638867371874278064396062192, 0.03255816230796472747881897245939, 0.05475589657435199603138130024458,
  0.07503967481091995276704314091619, 0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
  0.123491976262065851077208643474524, 0.134709217311473325928054001771707, 0.142775938577060080797094273138717,
  0.147739104901338491374841515972068, 0.149445554002916905664936468389821,
];
const WG = [0.066671344308688137593568809893332, 0.149451349150580593145776339657697, 0.219086362515982043995534934228163, 0.269266719309996355091226921569469, 0.295524224714752870173892994651338];

/** One QK21 application on [a, b]: the Kronrod estimate and |Kronrod − Gauss| as its error. */
export function gaussKronrod21(f: (x: number) => number, a: number, b: number): { value: number; error: number } {
  const c = (a + b) / 2;
  const h = (b - a) / 2;
  const fc = f(c);
  let k = WGK[10]! * fc;
  let g = 0; // the 10-point Gauss rule has no centre node
  for (let j = 0; j < 10; j++) {
    const dx = h * XGK[j]!;
    const s = f(c - dx) + f(c + dx);
    k += WGK[j]! * s;
    if (j % 2 === 1) g += WG[(j - 1) / 2]! * s;
  }
  return { value: k * h, error: Math.abs((k - g) * h) };
}

/**
 * ∫_a^b f by adaptive bisection: split the piece with the largest error estimate until the summed
 * error is within max(epsAbs, epsRel·|I|) or `limit` pieces exist (scipy.quad's defaults: 1.49e-8,
 * 1.49e-8, 50; Opacus passes limit=500). Returns the estimate and its error bound.
 */
export function integrate(f: (x: number) => number, a: number, b: number, options: { epsAbs?: number; epsRel?: number; limit?: number } = {}): { value: number; error: number } {
  const epsAbs = options.epsAbs ?? 1.49e-8;
  const epsRel = options.epsRel ?? 1.49e-8;
  const limit = options.limit ?? 50;
  if (a === b) return { value: 0, error: 0 };
  const pieces = [{ a, b, ...gaussKronrod21(f, a, b) }];
  let value = pieces[0]!.value;
  let error = pieces[0]!.error;
  while (error > Math.max(epsAbs, epsRel * Math.abs(value)) && pieces.length < limit) {
    let worst = 0;
    for (let i = 1; i < pieces.length; i++) if (pieces[i]!.error > pieces[worst]!.error) worst = i;
    const p = pieces[worst]!;
    const mid = (p.a + p.b) / 2;
    if (mid <= p.a || mid >= p.b) break; // out of float resolution
    const left = { a: p.a, b: mid, ...gaussKronrod21(f, p.a, mid) };
    const right = { a: mid, b: p.b, ...gaussKronrod21(f, mid, p.b) };
    pieces.splice(worst, 1, left, right);
    value = 0;
    error = 0;
    for (const q of pieces) {
      value += q.value;
      error += q.error;
    }
  }
  return { value, error };
}
