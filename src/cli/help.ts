export const HELP = `gradpool — per-sample gradients and data-parallel training for single-sample TensorFlow.js models

Usage:
  gradpool train <job.json> [--resume | --fresh] [--force] [--progress-every <ms>]
                 [--nodes N --node-rank R --nats nats://host:4222 [--run-id ID]]
  gradpool predict <job.json> [--out <file>]
  gradpool bench [--threads 1,2,4] [--quick] [--workload seed,mlp,conv] [--backend wasm|cpu] [--out <dir>]
  gradpool <command> --help | gradpool --help | --version

train     Trains the job's model on its data, on all the job's threads. Writes metrics.jsonl,
          checkpoints/ and the final weights (model.json + weights.bin, readable by tf.io) to the
          job's output.dir. On SIGTERM or SIGINT it writes a checkpoint and exits 143 or 130.
  --resume    continue from the newest valid checkpoint (bit-identical to an uninterrupted run)
  --fresh     start over in an output.dir that holds an earlier run, moving that run aside first
  --force     resume even if the job file, the model or the data changed since the checkpoint
predict   Runs the trained model over the job's data and writes one JSON line per sample
          ({"index", "prediction"}) to <output.dir>/predictions.jsonl (or --out).
bench     Runs the thread-scaling benchmark suite (table, JSON and SVG under bench/results).

Exit codes: 0 success · 1 runtime failure (I/O errors, corrupt checkpoints) ·
            2 usage, job-file or data-file error, or output.dir locked by another trainer ·
            75 a node of a multi-node run was lost (restart every node with --resume) ·
            130 after SIGINT · 143 after SIGTERM (once the checkpoint is written)
`;

/** `gradpool train --help`. */
export const TRAIN_HELP = `Usage: gradpool train <job.json> [--resume | --fresh] [--force] [--progress-every <ms>]

Trains the job's model on its data and writes to the job's output.dir: metrics.jsonl, checkpoints/
(every output.checkpointEvery steps, the last output.keepLast kept) and final/ (model.json +
weights.bin). The run holds output.dir/gradpool.lock while it runs: a second trainer on the same
directory exits 2; a lock left by a killed trainer on this host is taken over with a warning.

Options:
  --resume               continue from the newest valid checkpoint; damaged checkpoints are moved to
                         checkpoints/corrupt/ (kept), and if every checkpoint is damaged it fails (exit 1)
  --fresh                start over although output.dir holds an earlier run: that run is moved to
                         output.dir/previous-runs/<time>/, never deleted (without --fresh or --resume
                         such a directory is refused, exit 2)
  --force                with --resume: continue even if the job file, the model module or a training
                         data file changed since the checkpoint (a warning names what changed)
  --progress-every <ms>  minimum time between JSONL progress lines when stderr is not a terminal (1000)
  --nodes <N>            train on N nodes over NATS, bit-identical to one node (GRADPOOL_NODES; default 1)
  --node-rank <R>        this node's rank, 0..N-1 (GRADPOOL_NODE_RANK, else JOB_COMPLETION_INDEX); only
                         rank 0 writes output.dir and its state is what every node starts from
  --nats <url>           the NATS server, e.g. nats://nats:4222 (GRADPOOL_NATS_URL); unreachable: exit 2
  --run-id <id>          names the run on NATS (GRADPOOL_RUN_ID; default: a hash of the job)
  -h, --help             print this help

A lost node (no heartbeat for GRADPOOL_HEARTBEAT_TIMEOUT_MS, default 5000) or a lost NATS connection
makes every other node exit 75 after rank 0 checkpoints the last committed step.

On SIGTERM or SIGINT the current step finishes, a checkpoint is written, and the exit code is 143 or 130.
`;

/** `gradpool predict --help`. */
export const PREDICT_HELP = `Usage: gradpool predict <job.json> [--out <file>]

Runs the trained model (output.dir/final/, or the newest valid checkpoint if training has not
finished) over the job's data and writes one JSON line per sample, {"index", "prediction"}.

Options:
  --out <file>  where to write the predictions (default: <output.dir>/predictions.jsonl)
  -h, --help    print this help
`;
