/**
 * A tfjs-layers model as it crosses to the workers: ONE SharedArrayBuffer holding a JSON header and the
 * weight bytes. The pool's RuntimeSpec travels with every chunk task; a SharedArrayBuffer in it is
 * shared by structured clone, never copied, so the topology and weights cost nothing per call, and the
 * short key next to it lets each worker build the model once and cache it.
 *
 * Layout: `[u32 header byte length][header JSON, UTF-8][zero padding to 8 bytes][weight bytes]`.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { LossSpec } from './losses.js';

/** What a worker needs to rebuild the model. */
export interface LayersHeader {
  /** Where each worker loads the model from (a model.json path or http(s) URL); absent: topology and weights are in the buffer. */
  location?: string;
  modelTopology?: tf.io.ModelArtifacts['modelTopology'];
  weightSpecs?: tf.io.WeightsManifestEntry[];
  loss: LossSpec;
}

const align = (n: number) => Math.ceil(n / 8) * 8;

/** Packs a header and (for an in-memory model) its weight bytes into one SharedArrayBuffer. */
export function packArtifact(header: LayersHeader, weights?: ArrayBuffer): SharedArrayBuffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align(4 + json.length);
  const sab = new SharedArrayBuffer(start + (weights?.byteLength ?? 0));
  new DataView(sab).setUint32(0, json.length, true);
  new Uint8Array(sab, 4, json.length).set(json);
  if (weights) new Uint8Array(sab, start).set(new Uint8Array(weights));
  return sab;
}

/** The inverse of {@link packArtifact}; the weights are copied out (tfjs decodes from an ArrayBuffer). */
export function unpackArtifact(sab: SharedArrayBuffer): { header: LayersHeader; weights: ArrayBuffer } {
  const n = new DataView(sab).getUint32(0, true);
  const header = JSON.parse(Buffer.from(new Uint8Array(sab, 4, n)).toString('utf8')) as LayersHeader;
  const weights = new ArrayBuffer(sab.byteLength - align(4 + n));
  new Uint8Array(weights).set(new Uint8Array(sab, align(4 + n)));
  return { header, weights };
}

/** A short cache key for the workers: a content hash, so equal models share one and different ones never do. */
export function artifactKey(sab: SharedArrayBuffer): string {
  return `layers:${createHash('sha256').update(new Uint8Array(sab)).digest('hex').slice(0, 24)}`;
}

/**
 * The model's topology and weights as `model.save` serialises them, in memory (without training
 * config or optimizer). Works on a model from any copy of tfjs: only its `save` is called.
 */
export async function saveToMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let out: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      out = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** The artifacts' weights as one ArrayBuffer (tfjs may hand them over in several). */
export function weightBytes(a: tf.io.ModelArtifacts): ArrayBuffer {
  return a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
}
