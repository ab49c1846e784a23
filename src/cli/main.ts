#!/usr/bin/env node
/**
 * The `gradpool` command: `train`, `predict`, `bench`, `--help`, `--version`. Exit codes are in
 * ./exit.ts and the README. Errors in the job file or the command line print one line and exit 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GradPoolError } from '../errors.js';
import { EXIT, UsageError } from './exit.js';
import { HELP } from './help.js';

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
      throw new UsageError(`${command}: ${(e as Error).message}`);
    }
  };
  switch (command) {
    case 'train': {
      const { values, positionals } = parse({ resume: { type: 'boolean' }, force: { type: 'boolean' }, 'progress-every': { type: 'string' } });
      if (positionals.length !== 1) throw new UsageError(`train: expected one job file, got ${positionals.length}`);
      const every = values['progress-every'] === undefined ? 1000 : Number(values['progress-every']);
      if (!Number.isFinite(every) || every < 0) throw new UsageError(`--progress-every: expected a number of milliseconds >= 0, got ${JSON.stringify(values['progress-every'])}`);
      const { train } = await import('./train.js');
      return train(positionals[0]!, { resume: Boolean(values.resume), force: Boolean(values.force), progressEveryMs: every });
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
    if (e instanceof UsageError) {
      process.stderr.write(`gradpool: ${e.message}\n`);
      process.exitCode = EXIT.USAGE;
    } else {
      process.stderr.write(`gradpool: ${e instanceof GradPoolError ? e.message : (e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = EXIT.RUNTIME;
    }
  },
);
