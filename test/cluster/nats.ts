// A real nats-server for the cluster tests, on a free loopback port, started and stopped by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where Debian's nats-server lives (`.ci/run` installs it when missing); GRADPOOL_NATS_SERVER overrides. */
const BINARY = process.env.GRADPOOL_NATS_SERVER ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync);

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts nats-server on 127.0.0.1 and resolves once it logs that it is ready (no sleeps). Throws, so
 * the tests FAIL rather than skip, when the binary is missing.
 */
export async function startNats(extra: string[] = []): Promise<NatsServer> {
  if (!BINARY) throw new Error('nats-server not found (looked in /usr/sbin, /usr/bin, /usr/local/bin; set GRADPOOL_NATS_SERVER): the multi-node tests need a real server; install Debian\'s nats-server (.ci/run does)');
  const port = await freePort();
  const child: ChildProcess = spawn(BINARY, ['-a', '127.0.0.1', '-p', String(port), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      log += d;
      if (log.includes('Server is ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code} before it was ready:\n${log}`)));
    child.once('error', reject);
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
