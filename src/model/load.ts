import { register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errors, GradPoolError } from '../errors.js';
import { isModelDef, type ModelDef } from './define.js';
import { loadLayersModelDef } from './layers/source.js';

/**
 * The canonical file URL of a model module. Paths are resolved against the current directory, so the
 * coordinator and its workers import exactly the same module.
 */
export function modelHref(ref: string | URL): string {
  if (ref instanceof URL) return ref.href;
  if (typeof ref !== 'string' || ref.length === 0) throw errors.type('model', 'a module path, file URL string or URL', ref);
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) && !/^[a-z]:[\\/]/i.test(ref)) return ref; // already a URL (but not C:\...)
  return pathToFileURL(isAbsolute(ref) ? ref : resolve(ref)).href;
}

const cache = new Map<string, Promise<ModelDef>>();
let hooked = false;

/** Lets model modules outside any node_modules tree import gradpool's tfjs (see resolve-hook.ts). Once per thread. */
export function ensureResolveHook(): void {
  if (hooked) return;
  hooked = true;
  register(new URL('./resolve-hook.js', import.meta.url), { data: { base: import.meta.url } });
}

/**
 * Imports a model module and checks that its default export is a {@link defineModel} result.
 * Cached per URL: the workers keep the loaded model for their whole life.
 */
export function loadModel(href: string): Promise<ModelDef> {
  let p = cache.get(href);
  if (!p) {
    ensureResolveHook();
    p = (async () => {
      let mod: { default?: unknown };
      try {
        mod = (await import(href)) as { default?: unknown };
      } catch (e) {
        if (e instanceof GradPoolError) throw e; // defineModel rejected the definition: keep its message
        throw errors.modelLoad(href, e);
      }
      if (!isModelDef(mod.default)) throw errors.modelInvalid('default export', `the result of defineModel(...) in ${href}`, mod.default);
      return mod.default;
    })();
    cache.set(href, p);
    p.catch(() => cache.delete(href));
  }
  return p;
}

/** The model a worker's LoadSpec names: a module by URL, or the tfjs-layers model the coordinator packed into `layers`. */
export function loadModelFor(spec: { model: string; layers?: SharedArrayBuffer }): Promise<ModelDef> {
  return spec.layers ? loadLayersModelDef(spec.model, spec.layers) : loadModel(spec.model);
}
