/**
 * The floor plan, checked: which side of the thread boundary a module may reach, no import cycles,
 * and shared-memory regions named only by the region table. These read the TypeScript sources, so
 * they check the code as written, type-only imports included.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..'); // dist/test -> the checkout

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Relative imports of a source file (static, re-exports, and `import('…')` types), as repo paths of .ts files. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'/g), ...text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g), ...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts'));
}

const CODE = ['src', 'workers', 'bench', 'examples'].flatMap(sources);
const graph = new Map(CODE.map((f) => [f, importsOf(f)]));

describe('structure', () => {
  it('workers import from src/ only src/shared, src/model, src/optim, src/privacy and src/errors.ts', () => {
    const allowed = /^src\/(shared|model|optim|privacy)\/|^src\/errors\.ts$/;
    const bad = [...graph].flatMap(([f, deps]) => (f.startsWith('workers/') ? deps.filter((d) => d.startsWith('src/') && !allowed.test(d)).map((d) => `${f} -> ${d}`) : []));
    assert.deepEqual(bad, []);
  });

  it('nothing the workers load, directly or not, is coordinator code', () => {
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const d of graph.get(f) ?? []) visit(d);
    };
    for (const f of graph.keys()) if (f.startsWith('workers/')) visit(f);
    const coordinator = [...seen].filter((f) => /^src\/(pool|core|dispatch|arena|options|params|input)\.ts$|^src\/(train|cli|io)\//.test(f));
    assert.deepEqual(coordinator, []);
  });

  it('has no import cycle outside the tests', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      stack.push(f);
      for (const d of graph.get(f) ?? []) visit(d);
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) visit(f);
    assert.deepEqual(cycles, []);
  });

  it('spells shared-memory region names only in src/shared/protocol.ts', () => {
    // Region-only names as literals, and region access by a literal name.
    const literal = /'(ctl|pred|norms|psg|partial|grad|params[01])'|`(params|opt)\$\{/;
    const access = /\b(ensure|view|f32|f64|i32|regionView|buffer|stage|copyIn)\(\s*'|task\.regions\.|regions\[\s*'/;
    // The CLI and file formats never touch shared memory (their 'params' is a checkpoint array).
    const offenders = CODE.filter((f) => /^(src|workers)\//.test(f) && !/^src\/(cli|io)\//.test(f) && f !== 'src/shared/protocol.ts')
      .flatMap((f) => readFileSync(join(ROOT, f), 'utf8').split('\n').map((line, i) => [f, i + 1, line] as const))
      .filter(([, , line]) => !/^\s*(\/\/|\*)/.test(line) && (literal.test(line) || access.test(line)))
      .map(([f, n, line]) => `${f}:${n}: ${line.trim()}`);
    assert.deepEqual(offenders, []);
  });
});
