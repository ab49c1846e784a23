import * as tf from '@tensorflow/tfjs';
import { installSecondOrderGradients } from '../src/shared/gradients/index.js';
import { registerWasmGradientKernels } from '../src/shared/kernels/index.js';

const imported = new Map<string, Promise<unknown>>();

/** Imports a backend's registering module once per thread. */
function importOnce(mod: string, name: string): Promise<unknown> {
  let p = imported.get(mod);
  if (!p) {
    p = import(mod).catch((e: unknown) => {
      imported.delete(mod);
      throw new Error(`backend: cannot import module '${mod}' for backend '${name}': ${(e as Error).message}`);
    });
    imported.set(mod, p);
  }
  return p;
}

/**
 * Makes `name` this thread's tfjs backend (a no-op when it already is). 'wasm' and 'cpu' ship with
 * gradpool; any other backend is registered by importing `backendModule` first (e.g.
 * '@tensorflow/tfjs-node', which the user installs themselves — gradpool never requires it). Workers,
 * tests and the benchmark's main-thread baselines all select their backend here.
 */
export async function initBackend(name: string, backendModule?: string): Promise<void> {
  const mod = backendModule ?? (name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : undefined);
  if (mod) await importOnce(mod, name);
  if (tf.getBackend() === name) return addKernels(name);
  const registered = Object.keys(tf.engine().registryFactory);
  if (!registered.includes(name)) throw new Error(`backend: cannot initialise '${name}': no such tfjs backend is registered (registered: ${registered.join(', ')})`);
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(`backend: cannot initialise '${name}': ${(e as Error).message}`);
  }
  if (!ok) throw new Error(`backend: cannot initialise '${name}': its initialisation failed`);
  await tf.ready();
  // The cpu backend prints a "use tfjs-node" banner on its first write; it is noise here because
  // choosing cpu is deliberate.
  const be = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in be) be.firstUse = false;
  addKernels(name);
}

/**
 * Gradpool's kernels for backend `name`, added once it is selected: tfjs-backend-wasm lacks kernels
 * that tfjs's gradients call (conv2d's filter gradient, gather's); idempotent, so also safe when the
 * backend was already selected.
 */
function addKernels(name: string): void {
  installSecondOrderGradients(); // differentiable gradients, so a model's loss may take tf.grad(tf.grad(...))
  if (name === 'wasm') registerWasmGradientKernels();
}
