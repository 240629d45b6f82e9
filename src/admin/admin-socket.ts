import { chmodSync, rmSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { join } from 'node:path';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DomainError } from '../common/errors';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { readBody } from '../platform/limits';
import { AdminCommands } from './admin-commands';

export const ADMIN_SOCKET = 'admin.sock';

export interface AdminAnswer {
  result?: unknown;
  error?: { code: string; status: number; message: string };
}

/**
 * A Unix socket in DATA_DIR (owner-only, like the data itself) on which the running server runs
 * operator commands for the CLI. Whoever can reach it could equally open the data directory, so
 * it adds no access; it exists because embedded PGlite must be opened by one process only.
 */
@Injectable()
export class AdminSocket implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AdminSocket');
  private server?: Server;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly commands: AdminCommands,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const path = join(this.config.dataDir, ADMIN_SOCKET);
    // A socket file left by a server that did not shut down cleanly.
    rmSync(path, { force: true });
    const server = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req, 64 * 1024);
        let answer: AdminAnswer;
        let status = 200;
        try {
          const input: unknown =
            Buffer.isBuffer(body) && body.length ? JSON.parse(body.toString()) : {};
          answer = { result: await this.commands.run((req.url ?? '/').slice(1), input) };
        } catch (error) {
          const known = error instanceof DomainError;
          status = known ? error.status : 500;
          if (!known) this.logger.error({ err: error }, 'Admin command failed');
          answer = {
            error: {
              code: known ? error.code : 'internal',
              status,
              message: known ? error.message : 'The command failed; see the server log.',
            },
          };
        }
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      })();
    });
    await new Promise<void>((resolve) => {
      server.once('error', (error) => {
        this.logger.warn(
          `Admin socket unavailable at ${path} (${error.message}); CLI user commands need the server stopped.`,
        );
        resolve();
      });
      server.listen(path, () => {
        chmodSync(path, 0o600);
        this.server = server;
        resolve();
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Runs `command` in the server listening on `dataDir`'s admin socket; undefined when no server
 * is running there (the caller then runs it itself).
 */
export function askRunningServer(
  dataDir: string,
  command: string,
  input: unknown,
): Promise<AdminAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: join(dataDir, ADMIN_SOCKET),
        path: `/${command}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as AdminAnswer);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(error);
    });
    req.on('timeout', () =>
      req.destroy(new Error('The running server did not answer within 30 s')),
    );
    req.end(JSON.stringify(input));
  });
}
