#!/usr/bin/env node
/**
 * `npm run bench -- [--threads 1,2,4] [--quick] [--workload seed,mlp,conv] [--backend wasm|cpu] [--out dir]`:
 * runs the suite, prints the tables and writes bench/results/<date>-<host>.{json,svg}. The same
 * command as `gradpool bench` (src/cli/bench.ts).
 */
import { runBenchCli } from '../src/cli/bench.js';
import { UsageError } from '../src/cli/exit.js';

runBenchCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof UsageError ? e.message : e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
