import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  type DecideRequest,
  DecideService,
  type ReportRequest,
} from '@arcjet/protocol/proto/decide/v1alpha1/decide_pb.js';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Metrics } from '../platform/metrics';
import { ArcjetDecideService } from './arcjet-decide.service';

/** Largest Decide or Report message accepted (the SDK's requests are a few kB). */
export const ARCJET_MAX_MESSAGE_BYTES = 1024 * 1024;

type Server = http2.Http2Server | http2.Http2SecureServer;

/**
 * Serves Arcjet's `proto.decide.v1alpha1.DecideService` (ConnectRPC: Connect, gRPC and gRPC-Web
 * protocols, binary protobuf or JSON) for apps protected by the open-source Arcjet SDK:
 * - an h2c listener (HTTP/2 without TLS, prior knowledge) on ARCJET_PORT, what the SDK's
 *   `createRemoteClient({ baseUrl: "http://..." })` speaks;
 * - with ARCJET_TLS_*, one TLS listener whose ALPN offers HTTP/2 and HTTP/1.1.
 * Never on the HTTP/1.1 API port: an HTTP/2 client there fails inside the protected app.
 */
@Injectable()
export class ArcjetServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ArcjetServer');
  private readonly servers: {
    server: Server;
    kind: 'h2c' | 'tls';
    sessions: Set<http2.Http2Session>;
  }[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly decide: ArcjetDecideService,
    private readonly metrics: Metrics,
    private readonly http: HttpAdapterHost,
  ) {}

  /** The h2c listener's address once listening (tests and the start-up log read it). */
  address(kind: 'h2c' | 'tls' = 'h2c'): AddressInfo | null {
    const entry = this.servers.find((s) => s.kind === kind);
    return (entry?.server.address() as AddressInfo | null) ?? null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { port, tls } = this.config.arcjet;
    if (port === null && tls === null) return;
    // Ports belong to the server: application contexts without HTTP (CLI commands, the first
    // start's demo seeding) open none, so they never collide with a running server.
    if (!this.http.httpAdapter) return;
    await this.decide.analyzer.ready();
    const handler = connectNodeAdapter({
      routes: (router) => this.routes(router),
      readMaxBytes: ARCJET_MAX_MESSAGE_BYTES,
      interceptors: [this.measure()],
      fallback: unknownMethod,
    });
    if (port !== null) {
      await this.listen(http2.createServer(handler), port, 'h2c');
    }
    if (tls !== null) {
      const server = http2.createSecureServer(
        { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: true },
        handler,
      );
      await this.listen(server, tls.port, 'tls');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.servers.map(
        ({ server, sessions }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Idle HTTP/2 sessions would keep close() waiting for the client to hang up.
            for (const session of sessions) session.close();
          }),
      ),
    );
  }

  private routes(router: ConnectRouter): void {
    // The generated stubs are ES modules typed against protobuf-es's ESM declarations while this
    // CommonJS build sees its CJS ones: the same types, which TypeScript cannot unify, hence the
    // casts at this one boundary.
    router.service(DecideService, {
      decide: async (request, context) =>
        this.decide.decide(
          await this.decide.authenticate(context.requestHeader.get('authorization')),
          request as unknown as DecideRequest,
        ) as never,
      report: async (request, context) =>
        this.decide.report(
          await this.decide.authenticate(context.requestHeader.get('authorization')),
          request as unknown as ReportRequest,
        ) as never,
    });
  }

  /** Request metrics like every HTTP route, and unexpected failures logged, never leaked. */
  private measure(): Interceptor {
    return (next) => async (req) => {
      const route = `/${req.service.typeName}/${req.method.name}`;
      const end = this.metrics.httpDuration.startTimer({ method: 'POST', route });
      let status = 'ok';
      try {
        return await next(req);
      } catch (error) {
        if (error instanceof ConnectError) {
          status = Code[error.code];
          throw error;
        }
        status = 'internal';
        this.logger.error({ err: error, route }, `Unhandled error in ${route}`);
        throw new ConnectError('Something went wrong on our side. Retry later.', Code.Internal);
      } finally {
        end();
        this.metrics.httpRequests.inc({ method: 'POST', route, status });
      }
    };
  }

  private async listen(server: Server, port: number, kind: 'h2c' | 'tls'): Promise<void> {
    const sessions = new Set<http2.Http2Session>();
    server.on('session', (session: http2.Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(
                `The Arcjet-compatible decide service cannot listen on ${this.config.host}:${port}: the port is in use. Set ${kind === 'h2c' ? 'ARCJET_PORT' : 'ARCJET_TLS_PORT'} to a free port${kind === 'h2c' ? ', or to off if no app uses the Arcjet SDK' : ''}.`,
              )
            : error,
        );
      server.once('error', failed);
      server.listen(port, this.config.host, () => {
        server.off('error', failed);
        resolve();
      });
    });
    this.servers.push({ server, kind, sessions });
    const { port: bound } = server.address() as AddressInfo;
    this.logger.log(
      `Arcjet-compatible decide service (${kind === 'h2c' ? 'HTTP/2 cleartext' : 'TLS, HTTP/2 and HTTP/1.1'}) on ${this.config.host}:${bound}`,
    );
  }
}

/** Anything but Decide and Report: a Connect `unimplemented` error (HTTP 404), never a page. */
type NodeHandlerFn = NonNullable<Parameters<typeof connectNodeAdapter>[0]['fallback']>;

const unknownMethod: NodeHandlerFn = (req, res) => {
  const body = JSON.stringify({
    code: 'unimplemented',
    message: `No such method: ${String(req.method)} ${String(req.url).slice(0, 200)}. This port serves proto.decide.v1alpha1.DecideService/Decide and /Report (POST) for the Arcjet SDK.`,
  });
  req.resume();
  res.writeHead(404, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};
