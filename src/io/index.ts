/**
 * File I/O for the `gradpool` CLI: data loaders (CSV, JSONL, .npy, built-in MNIST), atomic
 * self-verifying checkpoints, tfjs-compatible weight export, and job-file parsing.
 */
export type { ColumnSelection, CsvSource, DataSource, Dataset, JsonlSource, MnistSource, NpySource } from './dataset.js';
export { loadCsv, selectColumns } from './csv.js';
export { loadJsonl } from './jsonl.js';
export { loadNpy, readNpy } from './npy.js';
export type { NpyArray } from './npy.js';
export { loadMnist } from './mnist.js';
export type { MnistOptions } from './mnist.js';
export { loadData } from './load.js';
export { writeFileAtomic } from './atomic.js';
export { checkpointName, listCheckpoints, loadLatestValid, pruneCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoint.js';
export type { Checkpoint, CheckpointArray, CheckpointDtype, CheckpointPayload } from './checkpoint.js';
export { MANIFEST_FILE, readTfjsWeights, WEIGHTS_FILE, WEIGHTS_FORMAT, writeTfjsWeights } from './tfjs-weights.js';
export type { NamedWeight, WeightsManifestFile } from './tfjs-weights.js';
export { canonicalJson, jobHash, parseJob } from './job.js';
export type { DpConfig, Job, OutputConfig } from './job.js';
