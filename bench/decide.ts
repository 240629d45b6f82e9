import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { typeid } from 'typeid-js';
import { DecisionRecord } from '../src/analytics/analytics.port';
import { adapterInsert, rawClientInsert } from '../src/analytics/clickhouse/clickhouse.bench';
import { ClickHouseStore } from '../src/analytics/clickhouse/clickhouse.store';
import { SdkAnalyzer } from '../src/arcjet/sdk-analyzer';
import { DuckDbStore } from '../src/analytics/duckdb/duckdb.store';
import { benchIntelLookup } from '../src/intel/intel.bench';
import { defaultIntelPaths, IntelService } from '../src/intel/intel.service';
import { classifyUserAgent } from '../src/rules/engine/bot-classifier';
import { compileRules, evaluate } from '../src/rules/engine/engine';
import { CounterStore } from '../src/rules/engine/rate-limit';
import { shieldSampleStats } from '../src/rules/engine/shield.bench';
import type { EngineRule, Enrichment, RequestFacts } from '../src/rules/engine/types';
import type { CreateRuleInput } from '../src/rules/rules.schemas';
import { startClickHouse } from '../test/support/clickhouse';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  DecideRequestSchema,
  Mode,
  RateLimitAlgorithm,
} from '@arcjet/protocol/proto/decide/v1alpha1/decide_pb.js';
import { startServer, ServerChild } from './children';
import { H2Request, measureH2 } from './h2load';
import { LoadSettings, measure, measureAtRate, warmUp } from './load';
import { Row } from './report';
import type { WireRequest } from './wire';

/** The rules the benchmark site has: one of each type, all LIVE but the email rule. */
export const BENCH_RULES: (CreateRuleInput & { live: boolean })[] = [
  {
    name: 'Shield',
    type: 'shield',
    config: { detect: ['sql_injection', 'xss', 'path_traversal', 'command_injection', 'scanner'] },
    live: true,
  },
  {
    name: 'Bots',
    type: 'bot',
    config: { deny: ['scraper', 'headless_browser'], allow: [], denyEmptyUserAgent: true },
    live: true,
  },
  {
    name: 'No Tor',
    type: 'filter',
    config: { action: 'deny', match: { networkTypes: ['tor'] } },
    live: true,
  },
  {
    name: 'API limit',
    type: 'rate_limit',
    config: {
      algorithm: 'sliding_window',
      max: 1_000_000,
      intervalSeconds: 60,
      characteristic: 'ip',
    },
    live: true,
  },
  { name: 'Sign-up email', type: 'email', config: { deny: ['disposable'] }, live: false },
];

const BROWSER_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';

/** The decide body every benchmark request sends: a typical browser page view. */
export const DECIDE_BODY = {
  ip: '80.128.0.1',
  method: 'GET',
  protocol: 'HTTP/1.1',
  host: 'shop.example.com',
  path: '/products/blue-running-shoes',
  query: 'size=42&color=blue',
  headers: {
    'user-agent': BROWSER_UA,
    accept: 'text/html,application/xhtml+xml',
    'accept-language': 'de-DE,de;q=0.9,en;q=0.8',
    referer: 'https://shop.example.com/products',
    cookie: 'session=abc123; theme=dark',
  },
};

const log = (message: string) => console.error(`[bench] ${message}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function rest<T>(url: string, token: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Creates a team, a site with BENCH_RULES, and returns the site key. */
async function seedSite(
  url: string,
  restToken: string,
  rules: typeof BENCH_RULES,
): Promise<string> {
  const team = await rest<{ id: string }>(url, restToken, '/v1/teams', { name: 'Decide bench' });
  const site = await rest<{ id: string; key: string }>(
    url,
    restToken,
    `/v1/teams/${team.id}/sites`,
    {
      name: 'Shop',
      domain: 'shop.example.com',
    },
  );
  for (const { live, ...rule } of rules) {
    const created = await rest<{ id: string }>(url, restToken, `/v1/sites/${site.id}/rules`, rule);
    if (live) await rest(url, restToken, `/v1/rules/${created.id}/promote`);
  }
  return site.key;
}

const isAllow = (body: string) => body.includes('"conclusion":"ALLOW"');
const isHello = (body: string) => body === '{"hello":"world"}';

export interface DecideHttpResult {
  decide: Row;
  decideNoRules: Row;
  decideAt1k: Row;
  hello: Row;
  /** The same decision through the Arcjet SDK's Decide RPC (HTTP/2 cleartext). */
  rpc: Row;
  /** Decide RPC with the SDK's own rules (shield and a sliding window) on a site without rules. */
  rpcSdkRules: Row;
}

/**
 * A DecideRequest as `@arcjet/node` encodes it for DECIDE_BODY, with `rules` the SDK sends.
 * (Cast: the generated schema is typed against protobuf-es's ESM declarations.)
 */
function rpcCall(key: string, rules: object[]): H2Request {
  const { query, ...details } = DECIDE_BODY;
  const message = create(
    DecideRequestSchema as never,
    {
      sdkStack: 1,
      sdkVersion: '1.5.0',
      details: { ...details, protocol: 'https:', query: `?${query}` },
      rules,
    } as never,
  );
  return {
    path: '/proto.decide.v1alpha1.DecideService/Decide',
    headers: {
      'content-type': 'application/proto',
      'connect-protocol-version': '1',
      authorization: `Bearer ${key}`,
    },
    body: Buffer.from(toBinary(DecideRequestSchema as never, message)),
  };
}

const SDK_RULES = [
  { rule: { case: 'shield', value: { mode: Mode.LIVE } } },
  {
    rule: {
      case: 'rateLimit',
      value: {
        mode: Mode.LIVE,
        algorithm: RateLimitAlgorithm.SLIDING_WINDOW,
        max: 1_000_000,
        interval: 60,
      },
    },
  },
];

const rpcOk = (answer: { status: number; body: Buffer }) =>
  answer.status === 200 && answer.body.length > 0;

/** Decide over HTTP on the whole app, at full speed and at 1,000 req/s, and bare node:http. */
export async function decideOverHttp(
  start: { issuer: string; restToken: string },
  settings: LoadSettings,
): Promise<DecideHttpResult> {
  let server: ServerChild | undefined;
  try {
    log('starting the Bulwark app for decide');
    // The Arcjet decide service listens on a port of its own, chosen here for the child.
    const rpcPort = await freePort();
    process.env.BENCH_ARCJET_PORT = String(rpcPort);
    server = await startServer('app', start);
    delete process.env.BENCH_ARCJET_PORT;
    const key = await seedSite(server.url, start.restToken, BENCH_RULES);
    const bareKey = await seedSite(server.url, start.restToken, []);
    const call: WireRequest = {
      method: 'POST',
      path: '/v1/decide',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(DECIDE_BODY),
    };
    await warmUp(server.url, [call], isAllow, settings);
    log('decide: full speed');
    const decide = {
      name: 'POST /v1/decide, whole app',
      measurement: await measure(server.url, call, isAllow, settings),
    };
    log('decide: a site without rules');
    const noRules: WireRequest = {
      ...call,
      headers: { ...call.headers, authorization: `Bearer ${bareKey}` },
    };
    const decideNoRules = {
      name: 'POST /v1/decide, site without rules (platform floor)',
      measurement: await measure(server.url, noRules, isAllow, settings),
    };
    log('decide: 1,000 req/s');
    const decideAt1k = {
      name: 'POST /v1/decide at a steady 1,000 req/s (open loop)',
      measurement: await measureAtRate(server.url, call, isAllow, 1000, settings.seconds),
    };
    log('Decide RPC (Arcjet SDK protocol)');
    const origin = `http://127.0.0.1:${rpcPort}`;
    const rpcSame = rpcCall(key, []);
    const rpcRules = rpcCall(bareKey, SDK_RULES);
    await measureH2(origin, rpcSame, rpcOk, { ...settings, seconds: settings.serverWarmupSeconds });
    const rpc = {
      name: 'Decide RPC (Arcjet protocol, h2c, 1 connection), same request and site',
      measurement: await measureH2(origin, rpcSame, rpcOk, settings),
    };
    const rpcSdkRules = {
      name: 'Decide RPC with the SDK’s rules (shield, sliding window), site without rules',
      measurement: await measureH2(origin, rpcRules, rpcOk, settings),
    };
    await server.stop();

    log('starting bare node:http hello world');
    server = await startServer('hello', start);
    const hello: WireRequest = {
      ...call,
      path: '/',
      headers: { 'content-type': 'application/json' },
    };
    await warmUp(server.url, [hello], isHello, settings);
    const bare = {
      name: 'Bare node:http hello world (same body sent)',
      measurement: await measure(server.url, hello, isHello, settings),
    };
    await server.stop();
    server = undefined;
    return { decide, decideNoRules, decideAt1k, hello: bare, rpc, rpcSdkRules };
  } finally {
    await server?.stop();
  }
}

export interface MicroResult {
  ruleEvalUs: number;
  enrichUs: number;
  intelNs: number;
  intelLoadMs: number;
  shield: ReturnType<typeof shieldSampleStats>;
  /** The SDK's fingerprint on Bulwark's shared WebAssembly instance, per call. */
  fingerprintUs: number;
  /** The same with a fresh instance per call, as the SDK's own helper does. */
  fingerprintFreshUs: number;
}

/** In-process timings: rule evaluation per decision (BENCH_RULES), intel lookups, shield set. */
export async function micro(): Promise<MicroResult> {
  const loadStarted = performance.now();
  const intel = IntelService.load(defaultIntelPaths());
  const intelLoadMs = performance.now() - loadStarted;
  const ips = Array.from({ length: 1024 }, (_, i) =>
    i % 4 === 3
      ? `2a02:${(i * 7919).toString(16)}::${i.toString(16)}`
      : `${((i * 37) % 223) + 1}.${(i * 101) % 256}.${(i * 13) % 256}.${i % 256}`,
  );
  const intelNs = benchIntelLookup(intel, ips, 200).nsPerLookup;

  const rules: EngineRule[] = BENCH_RULES.map((r, i) => ({
    id: `rule_${i}`,
    type: r.type,
    mode: r.live ? 'LIVE' : 'DRY_RUN',
    config: r.config,
    createdAt: new Date(i),
  }));
  const compiled = compileRules(rules, { counters: new CounterStore() });
  const facts: RequestFacts = { ...DECIDE_BODY, characteristics: {} };
  const enrich = (): Enrichment => {
    const ip = intel.lookup(facts.ip);
    const ua = facts.headers['user-agent'] ?? '';
    return {
      country: ip?.country ?? null,
      asn: ip?.asn ?? null,
      asOrg: ip?.asOrg ?? null,
      networkType: ip?.networkType ?? 'unknown',
      botCategory: classifyUserAgent(ua, ip?.asn ?? null),
      userAgent: ua,
    };
  };
  const fail = (): never => {
    throw new Error('a bench rule failed');
  };
  const rounds = 20_000;
  for (let i = 0; i < 2_000; i++) await evaluate(compiled, facts, enrich(), fail);
  let started = performance.now();
  for (let i = 0; i < rounds; i++) enrich();
  const enrichUs = ((performance.now() - started) * 1000) / rounds;
  const e = enrich();
  started = performance.now();
  for (let i = 0; i < rounds; i++) await evaluate(compiled, facts, e, fail);
  const ruleEvalUs = ((performance.now() - started) * 1000) / rounds;
  const { fingerprintUs, fingerprintFreshUs } = await fingerprintCost();
  return {
    ruleEvalUs,
    enrichUs,
    intelNs,
    intelLoadMs,
    shield: shieldSampleStats(),
    fingerprintUs,
    fingerprintFreshUs,
  };
}

/** What reproducing the SDK's fingerprint costs Bulwark, shared instance against per call. */
async function fingerprintCost(): Promise<{ fingerprintUs: number; fingerprintFreshUs: number }> {
  const { query, ...details } = DECIDE_BODY;
  const request = {
    ...details,
    protocol: 'https:',
    query: `?${query}`,
    cookies: '',
    extra: {},
  };
  const shared = new SdkAnalyzer();
  await shared.fingerprint(request, ['ip.src']);
  const rounds = 5_000;
  let started = performance.now();
  for (let i = 0; i < rounds; i++) await shared.fingerprint(request, ['ip.src']);
  const fingerprintUs = ((performance.now() - started) * 1000) / rounds;
  const fresh = 50;
  started = performance.now();
  for (let i = 0; i < fresh; i++) await new SdkAnalyzer().fingerprint(request, ['ip.src']);
  const fingerprintFreshUs = ((performance.now() - started) * 1000) / fresh;
  return { fingerprintUs, fingerprintFreshUs };
}

export interface IngestRow {
  name: string;
  rows: number;
  rowsPerSec: number;
}

function records(n: number): DecisionRecord[] {
  const t0 = Date.UTC(2026, 10, 1);
  return Array.from({ length: n }, (_, i) => ({
    id: typeid('req').toString(),
    siteId: `site_bench${i % 5}`,
    teamId: 'team_bench',
    timeMs: t0 + i * 50,
    ip: `198.51.100.${i % 250}`,
    method: i % 10 === 0 ? 'POST' : 'GET',
    protocol: 'HTTP/1.1',
    host: 'shop.example.com',
    path: `/products/${i % 500}`,
    query: i % 3 === 0 ? `page=${i % 7}` : '',
    userAgent: BROWSER_UA,
    headers: {
      'user-agent': BROWSER_UA,
      accept: 'text/html',
      referer: 'https://shop.example.com/',
    },
    email: null,
    country: 'DE',
    asn: 3320,
    asOrg: 'Deutsche Telekom AG',
    networkType: 'residential',
    botCategory: null,
    conclusion: i % 20 === 0 ? 'DENY' : 'ALLOW',
    reason: i % 20 === 0 ? 'SQL_INJECTION' : 'NO_RULE_DENIED',
    ruleId: i % 20 === 0 ? 'rule_shield' : null,
    results: [
      {
        ruleId: 'rule_shield',
        type: 'shield',
        mode: 'LIVE',
        conclusion: i % 20 === 0 ? 'DENY' : 'ALLOW',
        reason: i % 20 === 0 ? 'SQL_INJECTION' : 'NOT_MATCHED',
      },
    ],
    dryRunDenials: [],
  }));
}

/** Rows per second into each store in writer-sized batches, and the raw clickhouse-client. */
export async function ingest(total = 50_000, batch = 1000): Promise<IngestRow[]> {
  const out: IngestRow[] = [];
  const timeBatches = async (
    name: string,
    insert: (rows: DecisionRecord[]) => Promise<unknown>,
  ) => {
    const rows = records(total);
    const started = performance.now();
    for (let i = 0; i < rows.length; i += batch) await insert(rows.slice(i, i + batch));
    out.push({ name, rows: total, rowsPerSec: total / ((performance.now() - started) / 1000) });
  };

  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-duckdb-'));
  const duck = await DuckDbStore.open(join(dir, 'analytics.duckdb'));
  try {
    await duck.migrate();
    log(`ingest: DuckDB, ${total} rows in batches of ${batch}`);
    await timeBatches(`DuckDB adapter (file), batches of ${batch}`, (rows) =>
      duck.insertDecisions(rows),
    );
  } finally {
    await duck.close();
    rmSync(dir, { recursive: true, force: true });
  }

  log('ingest: starting ClickHouse');
  const server = await startClickHouse();
  try {
    const store = await ClickHouseStore.open(`${server.url}/${server.database}`);
    try {
      await store.migrate();
      log(`ingest: ClickHouse adapter, ${total} rows in batches of ${batch}`);
      await timeBatches(
        `ClickHouse adapter (HTTP, id check + JSONEachRow), batches of ${batch}`,
        (rows) => adapterInsert(store, rows),
      );
      log(`ingest: clickhouse-client, ${total} rows in batches of ${batch}`);
      await timeBatches(`Raw clickhouse-client INSERT (native), batches of ${batch}`, (rows) =>
        rawClientInsert(server, server.database, rows),
      );
      const one = records(total);
      const started = performance.now();
      await adapterInsert(store, one);
      out.push({
        name: `ClickHouse adapter, one batch of ${total}`,
        rows: total,
        rowsPerSec: total / ((performance.now() - started) / 1000),
      });
      const raw = records(total);
      const rawStarted = performance.now();
      await rawClientInsert(server, server.database, raw);
      out.push({
        name: `Raw clickhouse-client, one batch of ${total}`,
        rows: total,
        rowsPerSec: total / ((performance.now() - rawStarted) / 1000),
      });
    } finally {
      await store.close();
    }
  } finally {
    await server.cleanup();
  }
  return out;
}
