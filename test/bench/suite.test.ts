import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench, type BenchRun } from '../../bench/index.js';
import { parseBenchArgs, resolveBenchOptions } from '../../bench/options.js';
import { IDEAL_LABEL, plotData, renderSpeedupSvg } from '../../bench/plot.js';
import { END, readmeSection, replaceSection, START } from '../../bench/readme.js';
import type { BenchResult } from '../../bench/types.js';
import { parseXml } from './xml.js';

const finitePos = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} should be finite and > 0, got ${v}`);
const finiteNonNeg = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v >= 0, `${what} should be finite and >= 0, got ${v}`);

describe('bench: the thread-scaling suite in a tiny configuration', function () {
  this.timeout(180_000);
  const THREADS = [1, 2];
  let dir: string;
  let run: BenchRun;
  let fromDisk: BenchResult;

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'gradpool-bench-'));
    run = await runBench({
      threads: THREADS,
      workloads: ['seed', 'mlp'],
      batches: { seed: [40], mlp: [8] }, // 40: two chunks, the second partial
      minIterations: 2,
      timeBudgetMs: 0,
      warmupIterations: 1,
      warmupMs: 0,
      settleMs: 0,
      scaling: { batch: 64, rounds: 2 }, // the real one is B=4096; the shape of its output is what is tested
      vectorized: { seedBatch: 64, mlpBatch: 16, trainBatch: 8 },
      out: dir,
    });
    fromDisk = JSON.parse(await readFile(run.files!.json, 'utf8')) as BenchResult;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes <date>-<host>.json and .svg into the output directory', () => {
    assert.ok(run.files);
    assert.match(run.files.json, /[/\\]\d{4}-\d{2}-\d{2}-[A-Za-z0-9._-]+\.json$/);
    assert.equal(run.files.svg, run.files.json.replace(/\.json$/, '.svg'));
    assert.deepEqual(fromDisk, JSON.parse(JSON.stringify(run.result)));
  });

  it('records the machine, the versions and the requested configuration', () => {
    const r = fromDisk;
    assert.equal(r.schema, 'gradpool-bench/1');
    assert.ok(!Number.isNaN(Date.parse(r.date)));
    assert.equal(r.machine.availableParallelism, os.availableParallelism());
    assert.equal(r.machine.cpus, os.cpus().length);
    assert.ok(r.machine.cpuModel.length > 0);
    finitePos(r.machine.totalMemoryBytes, 'totalMemoryBytes');
    for (const v of Object.values(r.versions)) assert.match(v, /^\d+\.\d+\.\d+/);
    assert.deepEqual(r.config.threads, THREADS);
    assert.equal(r.config.speedupBase, 1);
    assert.equal(r.config.backend, 'wasm');
    assert.deepEqual(r.config.workloads, ['seed', 'mlp']);
    assert.deepEqual(r.config.batches, { seed: [40], mlp: [8] });
    finitePos(r.durationMs, 'durationMs');
    for (const l of [r.loadAverage.start, r.loadAverage.end]) assert.ok(l.length === 3 && l.every((v) => Number.isFinite(v) && v >= 0));
  });

  it('has every figure finite and positive, for exactly the requested cells', () => {
    const rows = fromDisk.rows;
    const stepSkipped = fromDisk.skipped.some((s) => s.op === 'step' && s.method === 'pool');
    for (const w of ['seed', 'mlp']) {
      const B = w === 'seed' ? 40 : 8;
      const ops = stepSkipped ? ['predict', 'perSampleGrads'] : ['predict', 'perSampleGrads', 'step'];
      for (const op of ['predict', 'perSampleGrads', 'step']) assert.equal(rows.filter((r) => r.workload === w && r.op === op && r.method === 'loop').length, 1, `${w} ${op} loop`);
      for (const op of ops) {
        const threads = rows.filter((r) => r.workload === w && r.op === op && r.method === 'pool' && r.batch === B).map((r) => r.threads);
        assert.deepEqual(threads, THREADS, `${w} ${op}: pool thread counts`);
      }
      assert.ok(rows.some((r) => r.workload === w && r.op === 'predict' && r.method === 'batched'));
      assert.ok(rows.some((r) => r.workload === w && r.op === 'step' && r.method === 'batched'));
      assert.ok(rows.some((r) => r.workload === w && r.op === 'step' && r.method === 'fit'));
    }
    assert.ok(!rows.some((r) => r.op === 'perSampleGrads' && r.method === 'batched'), 'tfjs has no batched per-sample gradients');
    for (const r of rows) {
      const id = `${r.workload} ${r.op} B=${r.batch} ${r.method}@${r.threads}`;
      for (const f of ['medianMs', 'minMs', 'maxMs', 'meanMs'] as const) finitePos(r.latency[f], `${id} latency.${f}`);
      assert.ok(r.latency.minMs <= r.latency.medianMs && r.latency.medianMs <= r.latency.maxMs, `${id}: min ≤ median ≤ max`);
      assert.ok(Number.isInteger(r.latency.samples) && r.latency.samples >= 2, `${id}: samples`);
      finitePos(r.samplesPerSec, `${id} samplesPerSec`);
      finitePos(r.usPerSample, `${id} usPerSample`);
      finitePos(r.vsLoop, `${id} vsLoop`);
      if (r.method === 'pool') {
        assert.ok(['loop', 'vectorized'].includes(r.executor!), `${id} executor ${r.executor}`);
        assert.ok(Number.isInteger(r.chunkSize) && r.chunkSize! >= 1, `${id} chunkSize ${r.chunkSize}`);
        finitePos(r.speedup, `${id} speedup`);
        finitePos(r.efficiency, `${id} efficiency`);
        assert.ok(r.breakdown, `${id} breakdown`);
        for (const [k, v] of Object.entries(r.breakdown)) finiteNonNeg(v, `${id} breakdown.${k}`);
        finitePos(r.breakdown.totalMs, `${id} breakdown.totalMs`);
        finitePos(r.breakdown.computeMs, `${id} breakdown.computeMs`);
      } else {
        assert.equal(r.threads, 1);
        assert.equal(r.executor, null);
        assert.equal(r.speedup, null);
        assert.equal(r.breakdown, null);
      }
    }
  });

  it('runs the thread-scaling comparison interleaved and evaluates its targets', () => {
    const r = fromDisk.scaling;
    assert.ok(r);
    assert.equal(r.batch, 64);
    const names = r.contenders.map((c) => `${c.method}:${c.executor}@${c.threads}`);
    // The loop executor always (the targets are judged on it); the default executor too when it differs.
    assert.deepEqual(names.slice(0, 3), ['loop:null@1', 'pool:loop@1', 'pool:loop@2']);
    assert.ok(names.length === 3 || (names.length === 5 && names[3]!.endsWith('@1') && names[4]!.endsWith('@2')), names.join(', '));
    assert.match(fromDisk.targets[0]!.description, /loop executor/);
    for (const c of r.contenders) {
      for (const f of ['medianMs', 'minMs', 'maxMs', 'meanMs'] as const) finitePos(c.latency[f], `scaling ${c.method}@${c.threads} ${f}`);
      assert.equal(c.latency.samples, 2);
      if (c.method === 'loop') assert.equal(c.breakdown, null);
      else for (const [k, v] of Object.entries(c.breakdown ?? { missing: NaN })) finiteNonNeg(v, `scaling pool@${c.threads} breakdown.${k}`);
    }
    assert.deepEqual(fromDisk.targets.map((t) => t.id), ['scaling-speedup', 'scaling-overhead', 'vectorized-seed', 'vectorized-mlp', 'vectorized-train']);
    for (const t of fromDisk.targets) {
      finitePos(t.measured, `target ${t.id}`);
      assert.equal(typeof t.met, 'boolean'); // reported either way; never asserted
    }
  });

  it('measures the vectorized targets: seed at two chunk sizes, MLP per-sample grads, step vs model.fit', () => {
    const r = fromDisk.vectorized;
    assert.ok(r);
    assert.equal(r.rows.length, 5);
    assert.match(r.rows[0]!.label, /^seed perSampleGrads, vectorized, chunk \d+ \(default\)$/);
    assert.match(r.rows[1]!.label, /^seed perSampleGrads, vectorized, chunk 32 \(set\)$/);
    assert.match(r.rows[4]!.label, /model\.fit/);
    for (const row of r.rows) {
      finitePos(row.usPerSample, row.label);
      assert.equal(row.usPerSample, (row.latency.medianMs * 1000) / row.batch);
    }
  });

  it('renders a well-formed SVG plot whose lines, markers, ticks and legend are the data', async () => {
    const svg = await readFile(run.files!.svg, 'utf8');
    const xml = parseXml(svg);
    assert.equal(xml.root, 'svg');
    assert.equal(svg, renderSpeedupSvg(fromDisk), 'deterministic: the JSON renders to the same bytes');
    const data = plotData(run.result);
    const series = [...new Set(data.map((d) => d.series))];
    assert.ok(series.includes(IDEAL_LABEL));
    assert.ok(series.includes('seed perSampleGrads B=40') && series.includes('mlp predict B=8'), series.join(', '));
    for (const s of series) assert.ok(xml.texts.includes(s), `legend entry '${s}' in the SVG`);
    for (const t of THREADS) assert.ok(xml.texts.includes(String(t)), `x tick ${t}`);
    assert.ok(xml.texts.includes('worker threads') && xml.texts.includes('speedup vs pool at 1 thread'), 'axis titles');
    // One polyline per series, through one point per thread count.
    const lines = xml.elements.filter((e) => e.name === 'polyline');
    assert.deepEqual(lines.map((e) => e.attrs['data-series']), series);
    for (const l of lines) assert.equal(l.attrs.points!.split(' ').length, THREADS.length, l.attrs['data-series']);
    assert.match(lines.at(-1)!.attrs['stroke-dasharray'] ?? '', /\d/, 'the ideal line is dashed');
    // A marker per measured point, carrying its value; higher speedups sit higher (smaller y).
    const marks = xml.elements.filter((e) => e.name === 'circle').map((e) => ({ series: e.attrs['data-series'], threads: Number(e.attrs['data-threads']), speedup: Number(e.attrs['data-speedup']), cx: Number(e.attrs.cx), cy: Number(e.attrs.cy) }));
    const measured = data.filter((d) => d.kind === 'measured');
    assert.deepEqual(
      marks.map((m) => `${m.series}@${m.threads}=${m.speedup}`).sort(),
      measured.map((d) => `${d.series}@${d.threads}=${Number(d.speedup.toFixed(4))}`).sort(),
    );
    const bySpeedup = [...marks].sort((a, b) => a.speedup - b.speedup);
    for (let i = 1; i < bySpeedup.length; i++) if (bySpeedup[i]!.speedup > bySpeedup[i - 1]!.speedup) assert.ok(bySpeedup[i]!.cy < bySpeedup[i - 1]!.cy, 'y grows with speedup');
    for (const m of marks) assert.equal(m.cx, marks.find((n) => n.threads === m.threads)!.cx, 'one x per thread count');
    assert.ok(marks.find((m) => m.threads === 1)!.cx < marks.find((m) => m.threads === 2)!.cx, 'x grows with threads');
  });

  it('plots a run with a single thread count without NaN coordinates', () => {
    const one: BenchResult = { ...fromDisk, config: { ...fromDisk.config, threads: [2], speedupBase: 2 }, rows: fromDisk.rows.filter((r) => r.threads === 2).map((r) => ({ ...r, speedup: 1 })) };
    const svg = renderSpeedupSvg(one);
    assert.ok(!/NaN|Infinity/.test(svg));
    assert.equal(parseXml(svg).elements.filter((e) => e.name === 'circle').length, plotData(one).filter((d) => d.kind === 'measured').length);
  });

  it('builds the README section and replaces only the text between the markers', () => {
    const section = readmeSection(run.result, 'bench/results/x.json', 'bench/results/x.svg');
    assert.match(section, /\| workload \| op \| B \| loop \|/);
    assert.match(section, /!\[[^\]]*\]\(bench\/results\/x\.svg\)/);
    const readme = `# t\n\n${START}\nold\n${END}\n\n## after\n`;
    const out = replaceSection(readme, section);
    assert.ok(out.startsWith(`# t\n\n${START}`) && out.endsWith(`${END}\n\n## after\n`));
    assert.ok(!out.includes('old'));
    assert.throws(() => replaceSection('# no markers', section), /section/);
  });
});

describe('bench: options', () => {
  it('parses the CLI flags', () => {
    const a = parseBenchArgs(['--threads', '1,2,4', '--quick', '--workload', 'seed,conv', '--backend', 'cpu', '--out', '/tmp/x']);
    assert.deepEqual(a.threads, [1, 2, 4]);
    assert.equal(a.quick, true);
    assert.deepEqual(a.workloads, ['seed', 'conv']);
    assert.equal(a.backend, 'cpu');
    assert.equal(a.out, '/tmp/x');
    assert.throws(() => parseBenchArgs(['--threads', '0']), /threads/);
    assert.throws(() => parseBenchArgs(['--nope']));
  });

  it('defaults to 1..availableParallelism threads and rejects unknown workloads', () => {
    const o = resolveBenchOptions({});
    assert.deepEqual(o.threads.slice(0, 2), os.availableParallelism() >= 2 ? [1, 2] : [1]);
    assert.equal(o.threads[o.threads.length - 1], os.availableParallelism());
    assert.throws(() => resolveBenchOptions({ workloads: ['nope' as never] }), /unknown workload/);
    assert.throws(() => resolveBenchOptions({ threads: [] }), /threads/);
  });

  it("writes into the checkout's bench/results by default (not the cwd's)", () => {
    assert.equal(resolveBenchOptions({}).out, fileURLToPath(new URL('../../../bench/results', import.meta.url)));
  });
});
