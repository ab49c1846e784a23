/**
 * Detects a second copy of tfjs-core next to gradpool's. tfjs keeps one engine and one kernel
 * registry per process (on `globalThis`), so a second copy re-registers every kernel ("kernel …
 * already registered", ~1,700 lines), and tensors and models made by one copy are foreign to the
 * other. That happens when a project's tfjs version is outside gradpool's peer range and npm nests
 * gradpool's own copy. gradpool says so in one line instead of letting the flood speak.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One installed tfjs-core package: its real directory and version. */
export interface TfjsCoreCopy {
  dir: string;
  version: string;
}

function copyAt(packageJson: string): TfjsCoreCopy {
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { dir: realpathSync(dirname(packageJson)), version };
}

/**
 * The tfjs-core that code in `fromDir` would load: `@tensorflow/tfjs`'s own core when `@tensorflow/tfjs`
 * resolves from there (as `import '@tensorflow/tfjs'` would), else `@tensorflow/tfjs-core` itself;
 * null when neither resolves (model modules outside any node_modules tree then get gradpool's copy
 * through the resolve hook, see resolve-hook.ts).
 */
export function tfjsCoreFrom(fromDir: string): TfjsCoreCopy | null {
  const from = createRequire(join(fromDir, 'index.js'));
  let tfjs: string | undefined;
  try {
    tfjs = from.resolve('@tensorflow/tfjs/package.json');
  } catch {
    // No @tensorflow/tfjs here: a project may still depend on tfjs-core directly (tfjs-node does).
  }
  try {
    return copyAt((tfjs ? createRequire(tfjs) : from).resolve('@tensorflow/tfjs-core/package.json'));
  } catch {
    return null;
  }
}

const here = dirname(fileURLToPath(import.meta.url));

/** gradpool's peer range for tfjs, from its package.json (dist/src/model/ → the package root). */
function peerRange(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(here, '../../../package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
    return pkg.peerDependencies?.['@tensorflow/tfjs'];
  } catch {
    return undefined;
  }
}

/**
 * The one-line message for a second copy, or null when `dirs` all resolve gradpool's copy (or none).
 * `dirs` are where the user's code lives: the working directory and the model module's directory.
 */
export function secondTfjsMessage(dirs: readonly string[], ours: TfjsCoreCopy | null = tfjsCoreFrom(here)): string | null {
  if (!ours) return null;
  for (const dir of new Set(dirs)) {
    const theirs = tfjsCoreFrom(dir);
    if (!theirs || theirs.dir === ours.dir) continue;
    const range = peerRange();
    return (
      `two copies of @tensorflow/tfjs-core are installed: gradpool uses ${ours.version} at ${ours.dir}, but ${dir} resolves ${theirs.version} at ${theirs.dir}; ` +
      `tfjs has one engine per process, so kernels register twice ("already registered") and tensors and models from one copy are foreign to the other. ` +
      `Install one copy${range ? ` in gradpool's peer range (@tensorflow/tfjs ${range}, with @tensorflow/tfjs-backend-wasm of the same version)` : ''} and run npm dedupe`
    );
  }
  return null;
}

/** The directory of a model given as a file path or file URL (null for an object or an http(s) URL). */
function modelDir(model: unknown): string | null {
  if (model instanceof URL) return model.protocol === 'file:' ? dirname(fileURLToPath(model)) : null;
  if (typeof model !== 'string') return null;
  if (model.startsWith('file:')) return dirname(fileURLToPath(model));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(model)) return null;
  return dirname(resolve(model));
}

const warned = new Set<string>();

/**
 * Warns once per process (a `GradPoolWarning`) when the user's code would load another tfjs-core
 * than gradpool's. `model` is the pool's model option: a module or model.json path or URL adds its
 * directory to the working directory as a place checked.
 */
export function warnOnSecondTfjs(model: unknown): void {
  const dir = modelDir(model);
  const message = secondTfjsMessage(dir ? [process.cwd(), dir] : [process.cwd()]);
  if (message === null || warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, 'GradPoolWarning');
}
