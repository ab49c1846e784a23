#!/usr/bin/env node
/**
 * The `gradpool` command: `train`, `predict`, `bench`, `--help`, `--version`. Exit codes are in
 * ./exit.ts and the README. Errors in the job file or the command line print one line and exit 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GradPoolError } from '../errors.js';
import { EXIT, UsageError } from './exit.js';
import { HELP, PREDICT_HELP, TRAIN_HELP } from './help.js';
import { errnoLine, isErrno } from './io-errors.js';

/** GradPoolError codes that mean the user's input is wrong (exit 2, like a usage error), not that the run failed. */
const INPUT_ERRORS: ReadonlySet<string> = new Set(['ERR_JOB_INVALID', 'ERR_DATA_INVALID', 'ERR_LOCKED', 'ERR_CLUSTER_UNREACHABLE', 'ERR_CLUSTER_REFUSED']);

/** parseArgs's own messages explain its syntax rules; say which option is wrong and where to look instead. */
function parseError(command: string, e: Error & { code?: string }): UsageError {
  const option = /'([^']+)'/.exec(e.message)?.[1]?.split(' ')[0];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return new UsageError(`${command}: unknown option ${option}; see gradpool ${command} --help`);
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return new UsageError(`${command}: ${option}: expected a value; see gradpool ${command} --help`);
  return new UsageError(`${command}: ${e.message}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`gradpool ${pkg.version}\n`);
    return EXIT.OK;
  }
  const parse = (options: NonNullable<ParseArgsConfig['options']>) => {
    try {
      return parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    } catch (e) {
      throw parseError(command, e as Error);
    }
  };
  // A help request wins over everything else on the line, as in git and npm: `train job.json --bogus --help` prints help.
  const wantsHelp = rest.slice(0, rest.includes('--') ? rest.indexOf('--') : undefined).some((a) => a === '--help' || a === '-h');
  if (wantsHelp && (command === 'train' || command === 'predict')) {
    process.stdout.write(command === 'train' ? TRAIN_HELP : PREDICT_HELP);
    return EXIT.OK;
  }
  switch (command) {
    case 'train': {
      const { values, positionals } = parse({ resume: { type: 'boolean' }, force: { type: 'boolean' }, fresh: { type: 'boolean' }, 'progress-every': { type: 'string' }, nodes: { type: 'string' }, 'node-rank': { type: 'string' }, nats: { type: 'string' }, 'run-id': { type: 'string' } });
      if (values.resume && values.fresh) throw new UsageError('train: --resume and --fresh: expected at most one (--resume continues the earlier run, --fresh moves it aside and starts over)');
      if (positionals.length !== 1) throw new UsageError(`train: expected one job file, got ${positionals.length}`);
      const every = values['progress-every'] === undefined ? 1000 : Number(values['progress-every']);
      if (!Number.isFinite(every) || every < 0) throw new UsageError(`--progress-every: expected a number of milliseconds >= 0, got ${JSON.stringify(values['progress-every'])}`);
      const { train } = await import('./train.js');
      const cluster = { nodes: values.nodes as string | undefined, nodeRank: values['node-rank'] as string | undefined, nats: values.nats as string | undefined, runId: values['run-id'] as string | undefined };
      return train(positionals[0]!, { resume: Boolean(values.resume), force: Boolean(values.force), fresh: Boolean(values.fresh), progressEveryMs: every, cluster });
    }
    case 'predict': {
      const { values, positionals } = parse({ out: { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError(`predict: expected one job file, got ${positionals.length}`);
      const { predict } = await import('./predict.js');
      return predict(positionals[0]!, { ...(values.out !== undefined ? { out: values.out as string } : {}) });
    }
    case 'bench': {
      const { runBenchCli } = await import('./bench.js');
      return runBenchCli(rest);
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; expected train, predict, bench, --help or --version`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // One line for everything the user can act on; a stack only for what is a bug in gradpool.
    if (e instanceof UsageError || (e instanceof GradPoolError && INPUT_ERRORS.has(e.code))) {
      process.stderr.write(`gradpool: ${e.message}\n`);
      process.exitCode = EXIT.USAGE;
    } else {
      process.stderr.write(`gradpool: ${e instanceof GradPoolError ? e.message : isErrno(e) ? errnoLine(e) : (e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = EXIT.RUNTIME;
    }
  },
);
