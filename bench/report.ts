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
