export const HELP = `gradpool — per-sample gradients and data-parallel training for single-sample TensorFlow.js models

Usage:
  gradpool train <job.json> [--resume] [--force] [--progress-every <ms>]
  gradpool predict <job.json> [--out <file>]
  gradpool bench [--threads 1,2,4] [--quick] [--workload seed,mlp,conv] [--backend wasm|cpu] [--out <dir>]
  gradpool --help | --version

train     Trains the job's model on its data, on all the job's threads. Writes metrics.jsonl,
          checkpoints/ and the final weights (model.json + weights.bin, readable by tf.io) to the
          job's output.dir. On SIGTERM or SIGINT it writes a checkpoint and exits 143 or 130.
  --resume    continue from the newest valid checkpoint (bit-identical to an uninterrupted run)
  --force     resume even if the job file changed since the checkpoint was written
predict   Runs the trained model over the job's data and writes one JSON line per sample
          ({"index", "prediction"}) to <output.dir>/predictions.jsonl (or --out).
bench     Runs the thread-scaling benchmark suite (table, JSON and SVG under bench/results).

Exit codes: 0 success · 1 runtime failure · 2 usage or job-file error ·
            130 after SIGINT · 143 after SIGTERM (once the checkpoint is written)
`;
