import { spawn } from 'node:child_process';
import { accessSync, constants, createReadStream } from 'node:fs';
import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import { delimiter, join } from 'node:path';
import type { AnalyticsStore, DecisionRecord } from '../analytics.port';
import { COLUMNS, toClickHouseRow } from './row';
import { identifier, isIdentifier, joinSql, sql } from './sql';

/**
 * Insert throughput of the adapter against the server's own client, on the same rows: the bench
 * runner calls both and reports rows/s. Both timings include turning records into rows.
 */

/** Milliseconds for `store.insertDecisions(rows)`: existence check plus JSONEachRow over HTTP. */
export async function adapterInsert(
  store: AnalyticsStore,
  rows: readonly DecisionRecord[],
): Promise<number> {
  const started = performance.now();
  await store.insertDecisions(rows);
  return performance.now() - started;
}

/**
 * Milliseconds for piping the same rows, as JSONEachRow, into
 * `clickhouse-client --query "INSERT INTO <database>.decisions (...) FORMAT JSONEachRow"` over the
 * native protocol. Includes starting the client process, as a shell pipeline would. No existence
 * check: the rows must not be stored yet, or they are stored twice.
 */
export async function rawClientInsert(
  server: ClientServer,
  database: string,
  rows: readonly DecisionRecord[],
): Promise<number> {
  const started = performance.now();
  const body = rows.map((d) => JSON.stringify(toClickHouseRow(d))).join('\n') + '\n';
  await clientInsert(server, database, (stdin) => stdin.end(body));
  return performance.now() - started;
}

/**
 * Pipes a JSONEachRow file (one ClickHouse row per line, as DuckDB's `COPY ... (FORMAT JSON)`
 * writes it) into `clickhouse-client`, `linesPerClient` rows per client process: how the
 * analytics benchmark moves millions of rows. One client for 10 million rows had 18.16's server
 * reset the connection (code 210) near the end, and half a million passed the per-query memory
 * limit (code 241): 100,000 rows (about 100 MB of JSON) per INSERT stays clear of both.
 * Returns the number of rows sent.
 */
export async function clientInsertFile(
  server: ClientServer,
  database: string,
  file: string,
  linesPerClient = 100_000,
): Promise<number> {
  let sent = 0;
  let lines = 0;
  let client: { body: PassThrough; done: Promise<void> } | undefined;
  const write = async (bytes: Buffer) => {
    if (!client) {
      const body = new PassThrough();
      client = { body, done: clientInsert(server, database, (stdin) => body.pipe(stdin)) };
    }
    // A client that dies fails `done`, which must end the wait for 'drain' too.
    if (!client.body.write(bytes)) await Promise.race([once(client.body, 'drain'), client.done]);
  };
  const finish = async () => {
    if (!client) return;
    const { body, done } = client;
    client = undefined;
    lines = 0;
    body.end();
    await done;
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) {
      sent++;
      if (++lines === linesPerClient) {
        await write(chunk.subarray(start, nl + 1));
        start = nl + 1;
        await finish();
      }
    }
    if (start < chunk.length) await write(chunk.subarray(start));
  }
  await finish();
  return sent;
}

interface ClientServer {
  tcpPort: number;
  host?: string;
  user?: string;
  password?: string;
}

async function clientInsert(
  server: ClientServer,
  database: string,
  feed: (stdin: Writable) => void,
): Promise<void> {
  if (!isIdentifier(database)) throw new TypeError(`not a database name: ${database}`);
  const query = sql`INSERT INTO ${identifier(database)}.decisions (${joinSql(
    COLUMNS.map(identifier),
    ', ',
  )}) FORMAT JSONEachRow`.text;
  const [file, prefix] = clientCommand();
  const args = [
    ...prefix,
    `--host=${server.host ?? '127.0.0.1'}`,
    `--port=${server.tcpPort}`,
    `--user=${server.user ?? 'default'}`,
    `--query=${query}`,
  ];
  // On the command line, as 18.16's client takes it no other way; visible in `ps`, so meant for
  // local bench servers only.
  if (server.password) args.push(`--password=${server.password}`);
  await new Promise<void>((done, fail) => {
    const child = spawn(file, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', fail);
    child.once('exit', (code, signal) =>
      code === 0
        ? done()
        : fail(new Error(`clickhouse-client exited with ${code ?? signal}: ${stderr.trim()}`)),
    );
    child.stdin.on('error', () => undefined); // a failed client reports through 'exit'
    feed(child.stdin);
  });
}

/** `clickhouse-client` (Debian 18.16) or the single upstream binary as `clickhouse client`. */
export function clientCommand(): [string, string[]] {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  const client = dirs.map((d) => join(d, 'clickhouse-client')).find(isExecutable);
  if (client) return [client, []];
  const multi = dirs.map((d) => join(d, 'clickhouse')).find(isExecutable);
  if (multi) return [multi, ['client']];
  throw new Error('clickhouse-client is not installed (bash scripts/clickhouse.sh ensure)');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
