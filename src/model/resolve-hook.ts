/**
 * A module-resolution hook (node:module `register`) for model modules that live outside any
 * node_modules tree — a job directory mounted at /job in the Docker image, say. When such a module
 * imports `@tensorflow/tfjs…` or `gradpool` and normal resolution fails, the import is resolved as if
 * it came from inside gradpool's own package, so the model uses exactly gradpool's copy of tfjs (it
 * must: a second copy would be a second engine). Resolution that succeeds is never touched.
 */
let base = '';

export function initialize(data: { base: string }): void {
  base = data.base;
}

const FALLBACK = /^(gradpool|@tensorflow\/tfjs[a-z-]*)(\/|$)/;

type Next = (specifier: string, context: { parentURL?: string }) => Promise<unknown>;

export async function resolve(specifier: string, context: { parentURL?: string }, next: Next): Promise<unknown> {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (!FALLBACK.test(specifier) || !base || (e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return next(specifier, { ...context, parentURL: base });
  }
}
