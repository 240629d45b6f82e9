import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server under test, listening on loopback. */
export interface Running {
  port: number;
  /** Set by servers that seed their own data. */
  teamId?: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral loopback port and resolves once bound. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
}

export async function readBody(req: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The bearer token of a request, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  return /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header?.trim() ?? '')?.[1];
}
