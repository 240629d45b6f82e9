import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

type WorkerMessage =
  | { type: 'ready'; address: string }
  | { type: 'error'; message: string }
  | { type: 'stopped'; error?: string };

/**
 * PGlite (Postgres compiled to WASM), exposed on a loopback port through pglite-socket so that
 * TypeORM's ordinary `pg` driver, the same one production uses, talks to it. It runs on a worker
 * thread: a query never blocks the HTTP event loop, and the database opens while the main
 * thread is still loading code, which keeps start-up on an existing data directory short.
 *
 * PGlite has a single session. The socket server multiplexes connections, but the
 * extended-protocol messages of two clients could interleave and clobber each other's unnamed
 * statements, so the application pool is kept at one connection (`poolSize`).
 */
export class EmbeddedPostgres {
  /** The app's pool size on PGlite; more connections would interleave in PGlite's one session. */
  static readonly poolSize = 1;

  private constructor(
    private readonly worker: Worker,
    readonly url: string,
  ) {}

  /** Opens (or creates) the database under `dataDir/pglite`, or in memory for `memory://`. */
  static start(dataDir: string): Promise<EmbeddedPostgres> {
    let location = 'memory://';
    if (dataDir !== 'memory://') {
      location = join(dataDir, 'pglite');
      // Owner-only, like everything in DATA_DIR: it holds keys and the CLI's socket.
      mkdirSync(location, { recursive: true, mode: 0o700 });
    }
    // A few connections are allowed so that a CLI can reach a running server's database.
    const worker = new Worker(join(__dirname, 'pglite.worker.js'), {
      workerData: { location, maxConnections: 4 },
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) =>
        reject(new Error(`PGlite worker exited with code ${code} while starting`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: WorkerMessage) => {
        worker.off('exit', onExit);
        if (message.type === 'ready') {
          resolve(new EmbeddedPostgres(worker, `postgres://postgres@${message.address}/postgres`));
        } else {
          void worker.terminate();
          reject(
            new Error(
              `PGlite could not open ${location}: ${'message' in message ? message.message : ''}`,
            ),
          );
        }
      });
    });
  }

  /** Closes the database cleanly (PGlite flushes its files), then ends the worker. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.worker.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage('stop');
    });
    await this.worker.terminate();
  }
}
