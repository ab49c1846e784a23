import * as tf from '@tensorflow/tfjs';

let ready: Promise<void> | null = null;
let readyFor = '';

/**
 * Selects this worker's tfjs backend once. 'wasm' and 'cpu' ship with gradpool; any other backend is
 * registered by importing `backendModule` first (e.g. '@tensorflow/tfjs-node', which the user
 * installs themselves — gradpool never requires it).
 */
export function initBackend(name: string, backendModule?: string): Promise<void> {
  const key = `${name}|${backendModule ?? ''}`;
  if (ready && readyFor === key) return ready;
  readyFor = key;
  ready = (async () => {
    const mod = backendModule ?? (name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : undefined);
    if (mod) {
      try {
        await import(mod);
      } catch (e) {
        throw new Error(`backend: cannot import module '${mod}' for backend '${name}': ${(e as Error).message}`);
      }
    }
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
    // The cpu backend prints a "use tfjs-node" banner on its first write, once per worker; it is noise
    // here because choosing cpu is deliberate.
    const be = tf.backend() as unknown as { firstUse?: boolean };
    if (name === 'cpu' && 'firstUse' in be) be.firstUse = false;
  })();
  ready.catch(() => {
    ready = null;
  });
  return ready;
}
