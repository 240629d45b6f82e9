import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { FromChild, ReadyMessage, ServerKind, ToChild } from './protocol';

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

/** A server under test running in its own process. */
export interface ServerChild {
  kind: ServerKind;
  url: string;
  teamId?: string;
  stop(): Promise<void>;
}

const alive = new Set<ChildProcess>();
// Never leave a server behind, whatever way the driver ends.
process.on('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/**
 * Forks `servers/<kind>.js` and starts it. With BENCH_CPU_PROF=<dir>, the child runs under
 * --cpu-prof and writes its profiles (one per thread) into <dir>/<kind>/ when stopped.
 */
export async function startServer(
  kind: ServerKind,
  start: Omit<Extract<ToChild, { type: 'start' }>, 'type'>,
): Promise<ServerChild> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const child = fork(join(__dirname, 'servers', `${kind}.js`), [], {
    // Server output goes to stderr, so that stdout carries only the results.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    execArgv: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, kind)}`] : [],
  });
  alive.add(child);
  child.stdout?.pipe(process.stderr);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      alive.delete(child);
      resolve();
    }),
  );

  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${kind} server did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    child.on('message', (message: FromChild) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message);
      else reject(new Error(`${kind} server failed to start:\n${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited during start-up (${signal ?? `code ${code}`})`));
    });
    child.send({ type: 'start', ...start } satisfies ToChild);
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  return {
    kind,
    url: `http://127.0.0.1:${ready.port}`,
    teamId: ready.teamId,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.send({ type: 'stop' } satisfies ToChild);
      await exited;
      clearTimeout(timer);
    },
  };
}
