import { cpus } from 'node:os';
import { TestIssuer } from '../test/support/issuer';
import { startServer, ServerChild } from './children';
import { analyticsBench } from './analytics';
import { decideOverHttp, ingest, micro } from './decide';
import { LoadSettings, measure, warmUp } from './load';
import { MCP_AUDIENCE, REST_AUDIENCE } from './protocol';
import { decideReport, goalsTable, resultsTable, Row } from './report';
import {
  captureModernCall,
  ceilingCall,
  isCeilingAnswer,
  legacyCall,
  looksLikeToolSuccess,
  seedThroughRest,
  verifyCeiling,
  verifyToolCall,
  WireRequest,
} from './wire';

/**
 * `npm run bench`: throughput and latency of MCP tools/call list-sites on the whole app (both
 * protocol eras), against a bare SDK v1 server doing the same work and a ceiling that only
 * verifies the token. Each server runs in its own child process, alone while it is measured;
 * the load generator (autocannon) runs here. Results go to stdout as markdown, progress to stderr.
 *
 * Then the decide API: POST /v1/decide on the whole app against bare node:http, p99 at a fixed
 * 1,000 req/s, rule evaluation and intel lookups in process, shield recall on the committed
 * sample set, and ingest rows/s into DuckDB and ClickHouse next to clickhouse-client.
 *
 * Then the analyst tools at BENCH_DECISIONS (default 10 million) demo decisions on DuckDB and
 * ClickHouse, each next to the raw SQL of its main query.
 *
 * BENCH_ONLY=mcp|decide|analytics runs one part. BENCH_SECONDS, BENCH_WARMUP_SECONDS and BENCH_SERVER_WARMUP_SECONDS change the run lengths;
 * BENCH_DATABASE_URL runs the app and the bare server on PostgreSQL instead of embedded PGlite;
 * BENCH_CPU_PROF=<dir> profiles the server children.
 */
const settings: LoadSettings = {
  connections: 10,
  serverWarmupSeconds: seconds('BENCH_SERVER_WARMUP_SECONDS', 5),
  warmupSeconds: seconds('BENCH_WARMUP_SECONDS', 3),
  seconds: seconds('BENCH_SECONDS', 9),
};

const ROW = {
  modern: 'Bulwark app, MCP 2026-07-28 (v2 client envelope)',
  legacy: 'Bulwark app, MCP 2025-11-25',
  bareV1: 'Bare SDK v1 1.32.2, stateless, same service call',
  ceiling: 'Ceiling: node:http + jose jwtVerify, fixed body',
};

const log = (message: string) => console.error(`[bench] ${message}`);

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only !== undefined && !['mcp', 'decide', 'analytics'].includes(only)) {
    throw new Error('BENCH_ONLY: expected mcp, decide or analytics');
  }
  if (only === undefined || only === 'mcp') await mcpBench();
  if (only === undefined || only === 'decide') await decideBench();
  if (only === undefined || only === 'analytics') {
    console.log(await analyticsBench(positive('BENCH_DECISIONS', 10_000_000)));
  }
}

async function decideBench(): Promise<void> {
  const issuer = await TestIssuer.start();
  try {
    const restToken = await issuer.token('bench-user', REST_AUDIENCE, { expiresIn: '1h' });
    const http = await decideOverHttp({ issuer: issuer.url, restToken }, settings);
    const m = await micro();
    const ingestRows = await ingest();
    console.log(
      decideReport(http, m, ingestRows, {
        connections: settings.connections,
        warmupSeconds: settings.warmupSeconds,
        seconds: settings.seconds,
      }),
    );
  } finally {
    await issuer.stop();
  }
}

async function mcpBench(): Promise<void> {
  const issuer = await TestIssuer.start();
  let server: ServerChild | undefined;
  try {
    const subject = 'bench-user';
    const mcpToken = await issuer.token(subject, MCP_AUDIENCE, { expiresIn: '1h' });
    const restToken = await issuer.token(subject, REST_AUDIENCE, { expiresIn: '1h' });
    const start = { issuer: issuer.url, restToken };
    const rows: Row[] = [];
    const load = async (
      target: ServerChild,
      name: string,
      request: WireRequest,
      check: (body: string) => boolean,
    ) => {
      log(`${name}: ${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured`);
      const measurement = await measure(target.url, request, check, settings);
      log(
        `  ${Math.round(measurement.reqPerSec)} req/s, errors ${JSON.stringify(measurement.errorDetail)}`,
      );
      const row = { name, measurement };
      rows.push(row);
      return row;
    };

    const serverWarmUp = (
      target: ServerChild,
      requests: WireRequest[],
      check: (body: string) => boolean,
    ) => {
      log(`warming ${target.kind} up: ${settings.serverWarmupSeconds} s per request kind`);
      return warmUp(target.url, requests, check, settings);
    };

    log('starting the Bulwark app');
    server = await startServer('app', start);
    const teamId = await seedThroughRest(server.url, restToken);
    const modernCall = await captureModernCall(server.url, mcpToken, teamId);
    await verifyToolCall(server.url, modernCall);
    const oldCall = legacyCall(mcpToken, teamId);
    await verifyToolCall(server.url, oldCall);
    await serverWarmUp(server, [modernCall, oldCall], looksLikeToolSuccess);
    const modern = await load(server, ROW.modern, modernCall, looksLikeToolSuccess);
    const legacy = await load(server, ROW.legacy, oldCall, looksLikeToolSuccess);
    await server.stop();

    log('starting the bare SDK v1 server');
    server = await startServer('bare-v1', start);
    if (!server.teamId) throw new Error('the bare SDK v1 server reported no team');
    const bareCall = legacyCall(mcpToken, server.teamId);
    await verifyToolCall(server.url, bareCall);
    await serverWarmUp(server, [bareCall], looksLikeToolSuccess);
    const bareV1 = await load(server, ROW.bareV1, bareCall, looksLikeToolSuccess);
    await server.stop();

    log('starting the ceiling server');
    server = await startServer('ceiling', start);
    const topCall = ceilingCall(mcpToken);
    await verifyCeiling(server.url, topCall);
    await serverWarmUp(server, [topCall], isCeilingAnswer);
    const ceiling = await load(server, ROW.ceiling, topCall, isCeilingAnswer);
    await server.stop();
    server = undefined;

    console.log(
      [
        `## MCP tools/call list-sites: ${settings.connections} keep-alive connections, ` +
          `${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per row`,
        '',
        `Node ${process.version}, ${cpus().length} cores; each server alone in a child process ` +
          `(warmed up ${settings.serverWarmupSeconds} s per request kind after start), ` +
          'autocannon in the parent. Latencies of 2xx answers; errors are socket errors, ' +
          'timeouts and answers that are not a successful tool result (or the fixed body).',
        '',
        resultsTable(rows),
        '',
        '### Whole app against the baselines',
        '',
        goalsTable([modern, legacy], bareV1, ceiling),
        '',
        '### 2026-07-28 tools/call as sent by @modelcontextprotocol/client (token elided)',
        '',
        '```http',
        describe(modernCall, mcpToken),
        '```',
      ].join('\n'),
    );
  } finally {
    await server?.stop();
    await issuer.stop();
  }
}

function describe(request: WireRequest, token: string): string {
  const headers = Object.entries(request.headers).map(
    ([name, value]) => `${name}: ${value.replace(token, '<token>')}`,
  );
  return [`${request.method} ${request.path}`, ...headers, '', request.body].join('\n');
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name}: expected a whole number > 0`);
  return value;
}

function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: expected seconds > 0`);
  return value;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
