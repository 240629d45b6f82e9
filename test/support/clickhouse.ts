import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/** A ClickHouse server of this test file's own, in a temp directory, on free ports. */
export interface ClickHouseServer {
  /** HTTP interface, no path: `http://127.0.0.1:PORT`. */
  url: string;
  httpPort: number;
  /** Native protocol port, for clickhouse-client. */
  tcpPort: number;
  /** A fresh database name for this server's user; stores create it on migrate(). */
  database: string;
  /** The temp directory holding config, data and logs. */
  dir: string;
  /** How long the last start took until /ping answered, ms. */
  lastStartMs: number;
  /** SIGTERM and wait for the process to exit; the data stays. */
  stop(): Promise<void>;
  /** Starts again with the same config, data directory and ports. */
  start(): Promise<void>;
  /** Stops and deletes the temp directory. */
  cleanup(): Promise<void>;
}

/** scripts/clickhouse.sh: two levels up from test/support, three when compiled into dist/. */
const SCRIPT =
  [2, 3]
    .map((up) => resolve(__dirname, ...Array<string>(up).fill('..'), 'scripts/clickhouse.sh'))
    .find((file) => existsSync(file)) ?? resolve(__dirname, '../../scripts/clickhouse.sh');
const DIR_PREFIX = 'bulwark-clickhouse-';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

/** Servers started by this process; killed if the process exits without cleaning up. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

let installed: Promise<ServerCommand> | undefined;

/**
 * Starts a server in a new temp directory, or in `keep.dir` (created when missing) with the
 * database `keep.database`: the bench keeps its copied data there between runs, and cleanup()
 * then only stops the server.
 */
export async function startClickHouse(keep?: {
  dir: string;
  database: string;
}): Promise<ClickHouseServer> {
  installed ??= findOrInstall().catch((error: unknown) => {
    installed = undefined; // a failed install is tried again by the next caller
    throw error;
  });
  const command = await installed;
  sweepStaleDirs();
  const dir = keep?.dir ?? mkdtempSync(join(tmpdir(), DIR_PREFIX));
  await mkdir(dir, { recursive: true });
  // Written first so that a later sweep can tell this directory's owner is still alive.
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) {
    await mkdir(join(dir, sub), { recursive: true });
  }
  await writeFile(join(dir, 'users.xml'), USERS_XML);

  let child: ChildProcess | undefined;
  let ports = await freePorts(2);
  const server: ClickHouseServer = {
    url: '',
    httpPort: 0,
    tcpPort: 0,
    database: keep?.database ?? `bulwark_test_${randomBytes(6).toString('hex')}`,
    dir,
    lastStartMs: 0,
    async stop() {
      if (!child) return;
      const stopping = child;
      child = undefined;
      await stopProcess(stopping);
    },
    async start() {
      if (child) return;
      // Same ports as before: clients hold the URL. A port freed a moment ago may still be held
      // by a socket in another process for a while, so retry until the start timeout.
      child = await startWithRetry(command, dir, server, () => Promise.resolve(ports), true);
    },
    async cleanup() {
      await server.stop();
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    // First start: if a port was taken between choosing and binding, choose new ones.
    child = await startWithRetry(
      command,
      dir,
      server,
      (attempt) => (attempt === 1 ? Promise.resolve(ports) : freePorts(2)),
      false,
    );
    ports = [server.httpPort, server.tcpPort];
  } catch (error) {
    if (!keep) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return server;
}

interface ServerCommand {
  file: string;
  args: string[];
  /** `setpriv` is there to give the server a parent-death signal. */
  setpriv: string | null;
}

/** The installed server binary, running `scripts/clickhouse.sh ensure` first if there is none. */
async function findOrInstall(): Promise<ServerCommand> {
  let command = findServer();
  if (!command) {
    const started = Date.now();
    await new Promise<void>((done, fail) =>
      execFile('bash', [SCRIPT, 'ensure'], { timeout: 600_000 }, (error, _stdout, stderr) =>
        error ? fail(new Error(`${SCRIPT} ensure failed: ${stderr || error.message}`)) : done(),
      ),
    );
    console.error(`[clickhouse] installed in ${Date.now() - started} ms`);
    command = findServer();
    if (!command) throw new Error(`${SCRIPT} ensure ran, but no clickhouse-server was found`);
  }
  return command;
}

function findServer(): ServerCommand | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  const setpriv = dirs.map((d) => join(d, 'setpriv')).find(isExecutable) ?? null;
  // Debian's 18.16 package installs /usr/sbin/clickhouse-server; upstream packages install the
  // single `clickhouse` binary, which runs the server as `clickhouse server`.
  const server = dirs.map((d) => join(d, 'clickhouse-server')).find(isExecutable);
  if (server) return { file: server, args: [], setpriv };
  const multi = dirs.map((d) => join(d, 'clickhouse')).find(isExecutable);
  if (multi) return { file: multi, args: ['server'], setpriv };
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function startWithRetry(
  command: ServerCommand,
  dir: string,
  server: ClickHouseServer,
  portsFor: (attempt: number) => Promise<number[]>,
  samePorts: boolean,
): Promise<ChildProcess> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    const [httpPort, tcpPort] = await portsFor(attempt);
    await writeFile(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort));
    server.httpPort = httpPort!;
    server.tcpPort = tcpPort!;
    server.url = `http://127.0.0.1:${httpPort}`;
    const started = Date.now();
    try {
      const child = await startOnce(command, dir, server.httpPort, deadline);
      server.lastStartMs = Date.now() - started;
      return child;
    } catch (error) {
      const portClash = error instanceof Error && /address already in use/i.test(error.message);
      const mayRetry = samePorts ? Date.now() < deadline : attempt < 5;
      if (!portClash || !mayRetry) throw error;
      if (samePorts) await sleep(500);
    }
  }
}

async function startOnce(
  command: ServerCommand,
  dir: string,
  httpPort: number,
  deadline: number,
): Promise<ChildProcess> {
  const serverArgs = [...command.args, `--config-file=${join(dir, 'config.xml')}`];
  // setpriv --pdeathsig makes the kernel send SIGTERM to the server when this process dies,
  // even by SIGKILL, where the 'exit' handler above never runs.
  const [file, args] = command.setpriv
    ? [command.setpriv, ['--pdeathsig', 'SIGTERM', '--', command.file, ...serverArgs]]
    : [command.file, serverArgs];
  const child = spawn(file, args, { cwd: dir, stdio: 'ignore' });
  // Not a reason to keep a jest worker alive; cleanup()/the exit handler end it.
  child.unref();
  running.add(child);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  const spawnError = new Promise<never>((_, fail) => child.once('error', fail));
  spawnError.catch(() => undefined);

  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`clickhouse-server exited during start:\n${errorLogTail(dir)}`);
    }
    if (await Promise.race([pingOk(httpPort), spawnError])) return child;
    await sleep(50);
  }
  await stopProcess(child);
  throw new Error(`clickhouse-server did not answer /ping in time:\n${errorLogTail(dir)}`);
}

function pingOk(port: number): Promise<boolean> {
  return new Promise((done) => {
    // agent: false, so no keep-alive socket outlives the check.
    const req = get(
      { host: '127.0.0.1', port, path: '/ping', agent: false, timeout: 1000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => done(res.statusCode === 200 && body.trim() === 'Ok.'));
        res.on('error', () => done(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function errorLogTail(dir: string): string {
  const file = join(dir, 'log', 'server.err.log');
  if (!existsSync(file)) return '(no error log)';
  return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
}

/** Distinct free ports: each found by binding port 0, all held until all are known. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => done());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  }
}

/**
 * Deletes temp directories left by test processes that died before cleanup() (their servers got
 * SIGTERM from the kernel). Only directories whose owner.pid names a process that is gone.
 */
function sweepStaleDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    void rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * The smallest config 18.16 runs with, everything inside `dir`. Caches are small because several
 * servers may run at once; keep_alive_timeout is above the client's idle-socket TTL (2.5 s) so the
 * client never reuses a socket the server is closing.
 */
function configXml(rawDir: string, httpPort: number, tcpPort: number): string {
  const dir = xmlText(rawDir);
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/log/server.log</log>
    <errorlog>${dir}/log/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <keep_alive_timeout>10</keep_alive_timeout>
  <mlock_executable>false</mlock_executable>
</yandex>
`;
}

/** The temp dir goes into XML text: escape what XML would read as markup. */
const xmlText = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `default` user, no password, localhost only; a profile and an unlimited quota. */
const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
