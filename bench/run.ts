#!/usr/bin/env node
/**
 * `npm run bench -- [--threads 1,2,4] [--quick] [--workload seed,mlp,conv] [--backend wasm|cpu] [--out dir]`:
 * runs the suite, prints the tables and writes bench/results/<date>-<host>.{json,svg}.
 */
import { runBench } from './index.js';
import { parseBenchArgs, USAGE } from './options.js';

async function main(): Promise<void> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const { help: _help, ...options } = args;
  await runBench(options);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
