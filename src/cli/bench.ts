import { parseBenchArgs, runBench } from '../../bench/index.js';
import { USAGE } from '../../bench/options.js';
import { EXIT, UsageError } from './exit.js';

/** `gradpool bench [...]` (and `npm run bench` in a checkout): the benchmark suite (bench/index.ts). */
export async function runBenchCli(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(argv);
  } catch (e) {
    throw new UsageError(`bench: ${(e as Error).message}\n\n${USAGE}`);
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return EXIT.OK;
  }
  const { help: _help, ...options } = args;
  await runBench(options);
  return EXIT.OK;
}
