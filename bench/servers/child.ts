import type { FromChild, StartMessage, ToChild } from '../protocol';
import { Running } from './running';

/**
 * Runs this process as a server child of the benchmark driver: starts the server when the driver
 * sends `start`, reports its port, and closes and exits on `stop` (or when the driver goes away,
 * so that no server outlives a benchmark). A clean exit also writes a --cpu-prof profile.
 */
export function runChild(name: string, start: (message: StartMessage) => Promise<Running>): void {
  const send = (message: FromChild) => process.send?.(message);
  let running: Running | undefined;

  process.on('message', (message: ToChild) => {
    if (message.type === 'start') {
      start(message).then(
        (r) => {
          running = r;
          send({ type: 'ready', port: r.port, teamId: r.teamId });
        },
        (error: unknown) => {
          send({
            type: 'failed',
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
          process.exit(1);
        },
      );
      return;
    }
    (running?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`${name} server failed to close:`, error);
        process.exit(1);
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
}
