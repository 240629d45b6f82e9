import type { ShieldSampleStats } from '../src/rules/engine/shield.bench';
import type { Measurement } from './load';

export interface Row {
  name: string;
  measurement: Measurement;
}

/** Goals of the whole app on either protocol era. */
export const GOALS = { vsBareV1: 2, vsCeiling: 0.4, p99Ms: 20 };

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const ratio = (v: number) => `${v.toFixed(2)}x`;
const verdict = (ok: boolean) => (ok ? 'met' : '**NOT met**');

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(head), line(align), ...rows.map(line)].join('\n');
}

export function resultsTable(rows: Row[]): string {
  return table(
    ['Server under test', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'requests'],
    rows.map(({ name, measurement: m }) => [
      name,
      int(m.reqPerSec),
      ms(m.p50),
      ms(m.p99),
      int(m.errors),
      int(m.requests),
    ]),
  );
}

/** Whole app on each era against the bare SDK v1 server and the ceiling, with the goals. */
export function goalsTable(eras: Row[], bareV1: Row, ceiling: Row): string {
  return table(
    [
      'Era',
      'app / bare v1',
      `>= ${GOALS.vsBareV1}x`,
      'app / ceiling',
      `>= ${GOALS.vsCeiling}x`,
      `p99 < ${GOALS.p99Ms} ms`,
      'no errors',
    ],
    eras.map(({ name, measurement: m }) => {
      const vsBare = m.reqPerSec / bareV1.measurement.reqPerSec;
      const vsCeiling = m.reqPerSec / ceiling.measurement.reqPerSec;
      return [
        name,
        ratio(vsBare),
        verdict(vsBare >= GOALS.vsBareV1),
        ratio(vsCeiling),
        verdict(vsCeiling >= GOALS.vsCeiling),
        `${ms(m.p99)} ms, ${verdict(m.p99 < GOALS.p99Ms)}`,
        verdict(m.errors === 0),
      ];
    }),
  );
}

/** Goals of the decide API (issue: decide, rule engine, intel, analytics). */
export const DECIDE_GOALS = { vsHello: 0.5, p99At1kMs: 5, intelUs: 2, ingestVsRaw: 0.5 };

export function decideReport(
  http: {
    decide: Row;
    decideNoRules: Row;
    decideAt1k: Row;
    hello: Row;
    rpc: Row;
    rpcSdkRules: Row;
  },
  micro: {
    ruleEvalUs: number;
    enrichUs: number;
    intelNs: number;
    intelLoadMs: number;
    shield: ShieldSampleStats;
    fingerprintUs: number;
    fingerprintFreshUs: number;
  },
  ingest: { name: string; rows: number; rowsPerSec: number }[],
  load: { connections: number; warmupSeconds: number; seconds: number },
): string {
  const ratioVsHello = http.decide.measurement.reqPerSec / http.hello.measurement.reqPerSec;
  const p99 = http.decideAt1k.measurement.p99;
  const intelUs = micro.intelNs / 1000;
  const batched = (match: string) => ingest.find((r) => r.name.startsWith(match));
  const chBatched = batched('ClickHouse adapter (HTTP');
  const rawBatched = batched('Raw clickhouse-client INSERT');
  const chOne = batched('ClickHouse adapter, one batch');
  const rawOne = batched('Raw clickhouse-client, one batch');
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const s = micro.shield;
  return [
    '',
    `## POST /v1/decide: ${load.connections} keep-alive connections, ${load.warmupSeconds} s warm-up + ${load.seconds} s measured per row`,
    '',
    'Each server alone in a child process; the site has five rules (shield, bot, filter, sliding-window rate limit LIVE; email DRY_RUN), every decision is enriched with intel and queued for the analytics writer (DuckDB).',
    '',
    resultsTable([
      http.decide,
      http.decideNoRules,
      http.decideAt1k,
      http.rpc,
      http.rpcSdkRules,
      http.hello,
    ]),
    '',
    `Decide RPC / POST /v1/decide, same request: ${ratio(http.rpc.measurement.reqPerSec / http.decide.measurement.reqPerSec)} throughput, p99 ${ms(http.rpc.measurement.p99)} vs ${ms(http.decide.measurement.p99)} ms.`,
    '',
    table(
      ['Goal', 'target', 'measured', 'verdict'],
      [
        [
          'decide / bare node:http',
          `>= ${ratio(DECIDE_GOALS.vsHello)}`,
          ratio(ratioVsHello),
          verdict(ratioVsHello >= DECIDE_GOALS.vsHello),
        ],
        [
          'decide p99 at 1,000 req/s',
          `<= ${DECIDE_GOALS.p99At1kMs} ms`,
          `${ms(p99)} ms`,
          verdict(p99 <= DECIDE_GOALS.p99At1kMs),
        ],
        [
          'intel lookup',
          `<= ${DECIDE_GOALS.intelUs} µs`,
          `${intelUs.toFixed(2)} µs`,
          verdict(intelUs <= DECIDE_GOALS.intelUs),
        ],
        ...(chBatched && rawBatched
          ? [
              [
                'ClickHouse adapter / raw client, 1,000-row batches',
                `>= ${ratio(DECIDE_GOALS.ingestVsRaw)}`,
                ratio(chBatched.rowsPerSec / rawBatched.rowsPerSec),
                verdict(chBatched.rowsPerSec / rawBatched.rowsPerSec >= DECIDE_GOALS.ingestVsRaw),
              ],
            ]
          : []),
        ...(chOne && rawOne
          ? [
              [
                'ClickHouse adapter / raw client, one large batch',
                `>= ${ratio(DECIDE_GOALS.ingestVsRaw)}`,
                ratio(chOne.rowsPerSec / rawOne.rowsPerSec),
                verdict(chOne.rowsPerSec / rawOne.rowsPerSec >= DECIDE_GOALS.ingestVsRaw),
              ],
            ]
          : []),
      ],
    ),
    '',
    '### In process',
    '',
    table(
      ['Measure', 'value'],
      [
        ['rule evaluation per decision (5 rules)', `${micro.ruleEvalUs.toFixed(2)} µs`],
        ['enrichment per decision (intel + user agent)', `${micro.enrichUs.toFixed(2)} µs`],
        ['intel lookup (1,024 mixed v4/v6 IPs)', `${intelUs.toFixed(3)} µs`],
        ['intel data load at start', `${Math.round(micro.intelLoadMs)} ms`],
        ['shield evaluation (sample set mean)', `${s.usPerEvaluation.toFixed(2)} µs`],
        [
          'Arcjet SDK fingerprint, shared WebAssembly instance (per cacheable DENY)',
          `${micro.fingerprintUs.toFixed(2)} µs`,
        ],
        [
          'Arcjet SDK fingerprint, fresh instance per call (the SDK helper’s way)',
          `${micro.fingerprintFreshUs.toFixed(0)} µs`,
        ],
      ],
    ),
    '',
    '### Shield on the committed sample set (src/rules/engine/shield-samples.json)',
    '',
    table(
      ['Set', 'samples', 'flagged', 'rate'],
      [
        ['attacks (recall)', int(s.attacks), int(s.detected), pct(s.recall)],
        ['benign (false positives)', int(s.benign), int(s.falsePositives), pct(s.fpRate)],
        ...Object.entries(s.perClass).map(([name, c]) => [
          `  ${name}`,
          int(c.total),
          int(c.detected),
          pct(c.total ? c.detected / c.total : 0),
        ]),
      ],
    ),
    '',
    '### Ingest',
    '',
    table(
      ['Writer', 'rows', 'rows/s'],
      ingest.map((r) => [r.name, int(r.rows), int(r.rowsPerSec)]),
    ),
  ].join('\n');
}
