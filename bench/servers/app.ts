import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/config';
import { createApp } from '../../src/main';
import { OAuthUpstream } from '../../src/oauth/upstream';
import { benchEnv } from '../protocol';
import { runChild } from './child';
import { Running } from './running';

/** The whole Bulwark application, exactly as `createApp` builds it; the driver seeds it over REST. */
export async function startApp(issuer: string): Promise<Running> {
  // The Arcjet decide service only where the driver gave it a port (the decide section).
  const app = await createApp(
    loadConfig({ ...benchEnv(issuer), ARCJET_PORT: process.env.BENCH_ARCJET_PORT ?? 'off' }),
  );
  await app.listen(0, '127.0.0.1');
  // /mcp answers 503 until the issuer's metadata is in.
  await app.get(OAuthUpstream).ready();
  const server = app.getHttpServer() as Server;
  return {
    port: (server.address() as AddressInfo).port,
    close: () => app.close(),
  };
}

runChild('app', ({ issuer }) => startApp(issuer));
