import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACTED_PATHS } from '../../src/platform/logging';
import { obtainTokens } from '../support/oauth';

const BIN = join(__dirname, '../../bin/bulwark.js');

async function waitFor(url: string, ms: number): Promise<Response> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The built `bulwark` command, as a user runs it (the build comes from npm install). */
describe('bulwark CLI', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stops on a bad variable with a message naming it and the expected form', () => {
    const res = spawnSync('node', [BIN, 'serve'], {
      env: { ...process.env, PORT: 'eighty', LOG_LEVEL: 'silent' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(78);
    expect(res.stderr).toContain(
      'PORT: expected an integer from 0 to 65535, such as 3000 (got "eighty")',
    );
  });

  it('migrates an empty data directory, then serves on PORT, BASE_URL and DATA_DIR, and shuts down cleanly', async () => {
    // No demo: a migrated directory has no users, so the first serve would create it.
    const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent', BULWARK_DEMO: 'off' };
    const migrate = spawnSync('node', [BIN, 'migrate'], { env, encoding: 'utf8' });
    expect(migrate.stdout).toContain('Applied: InitialSchema');
    expect(statSync(join(dataDir, 'pglite')).isDirectory()).toBe(true);

    // Twice: the second start finds the data the first one closed cleanly on SIGTERM.
    for (const round of [1, 2]) {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const server = spawn('node', [BIN, 'serve'], {
        env: { ...env, PORT: String(port), BASE_URL: 'https://bulwark.example.com' },
        stdio: 'ignore',
      });
      try {
        const health = await waitFor(`http://127.0.0.1:${port}/health`, 20_000);
        expect(health.status).toBe(200);
        const unauthenticated = await fetch(`http://127.0.0.1:${port}/v1/teams`);
        expect(unauthenticated.status).toBe(401);
        expect(unauthenticated.headers.get('www-authenticate')).toContain(
          'https://bulwark.example.com/.well-known/oauth-protected-resource/v1',
        );
        if (round === 1) expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200);
      } finally {
        const exited = new Promise<[number | null, string | null]>((resolve) =>
          server.once('exit', (code, signal) => resolve([code, signal])),
        );
        server.kill('SIGTERM');
        // Nest re-raises the signal once its shutdown hooks have run.
        expect(await exited).toEqual([null, 'SIGTERM']);
      }
    }
    expect(statSync(join(dataDir, 'encryption.key')).mode & 0o777).toBe(0o600);
  }, 60_000);
});

describe('log redaction', () => {
  it('never writes Authorization or Cookie headers, nor a redirect that may carry an OAuth code', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()),
    });
    const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
    logger.info(
      {
        req: { headers: { authorization: 'Bearer secret-token', cookie: 'sid=1' } },
        res: { statusCode: 303, headers: { location: 'https://app.example/cb?code=one-time' } },
      },
      'request',
    );
    expect(lines.join('')).not.toContain('secret-token');
    expect(lines.join('')).not.toContain('sid=1');
    expect(lines.join('')).not.toContain('one-time');
    expect(lines.join('')).toContain('[redacted]');
  });
});

/**
 * Runs a CLI command to completion; stdin is piped when given. Asynchronously: a blocked event
 * loop would miss the server closing idle keep-alive connections, and the next fetch would
 * reuse a dead one.
 */
function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe('first start, users and tokens from the command line', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'bulwark-first-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function start(env: NodeJS.ProcessEnv, port: number) {
    const server = spawn('node', [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    server.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(`http://127.0.0.1:${port}/health`, 90_000);
    return {
      stdout: () => stdout,
      async stop() {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      },
    };
  }

  it('creates the demo user and data once, and manages users and tokens with the server running and stopped', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      BASE_URL: baseUrl,
      LOG_LEVEL: 'silent',
    };
    let server = await start(env, port);
    let demoPassword: string;
    try {
      const printed = server.stdout();
      expect(printed).toContain('E-mail:   demo@bulwark.local');
      demoPassword = /Password: (\S+)/.exec(printed)![1];

      // The printed password signs in through the real login page.
      const demo = await obtainTokens(baseUrl, {
        email: 'demo@bulwark.local',
        password: demoPassword,
      });
      const teams = await fetch(`${baseUrl}/v1/teams`, {
        headers: { authorization: `Bearer ${demo.access_token}` },
      });
      const body = (await teams.json()) as { items: { id: string; name: string }[] };
      expect(body.items.map((t) => t.name)).toEqual(['Demo Shop Inc.']);
      const sites = (await (
        await fetch(`${baseUrl}/v1/teams/${body.items[0].id}/sites`, {
          headers: { authorization: `Bearer ${demo.access_token}` },
        })
      ).json()) as { items: { id: string }[] };
      const traffic = (await (
        await fetch(`${baseUrl}/v1/sites/${sites.items[0].id}/analytics/traffic?days=30`, {
          headers: { authorization: `Bearer ${demo.access_token}` },
        })
      ).json()) as { current: { requests: number } };
      // 50,000 generated over the 30 days before the first start (a few fall just outside).
      expect(traffic.current.requests).toBeGreaterThan(49_000);

      // While the server runs, the CLI goes through its admin socket.
      const created = await run(
        ['users', 'create', '--email', 'Ana@Example.com', '--password-stdin'],
        env,
        'a long enough passphrase\n',
      );
      expect(created.stderr).toBe('');
      expect(created.stdout).toMatch(/^Created ana@example.com \(user_[0-9a-z]{26}\)\.\n$/);
      const duplicate = await run(['users', 'create', '--email', 'ana@example.com'], env);
      expect(duplicate.status).toBe(1);
      expect(duplicate.stderr).toContain('already exists');
      const short = await run(
        ['users', 'create', '--email', 'bo@example.com', '--password-stdin'],
        env,
        'short',
      );
      expect(short.status).toBe(1);
      expect(short.stderr).toContain('password: expected at least 12 characters');
      expect((await run(['users', 'list'], env)).stdout).toMatch(
        /demo@bulwark\.local[\s\S]*ana@example\.com/,
      );

      const token = await run(
        ['token', '--email', 'ana@example.com', '--scope', 'bulwark:read'],
        env,
      );
      expect(token.status).toBe(0);
      const me = await fetch(`${baseUrl}/v1/teams`, {
        headers: { authorization: `Bearer ${token.stdout.trim()}` },
      });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { items: unknown[] }).items).toEqual([]);
    } finally {
      await server.stop();
    }

    // Stopped: the CLI opens the data directory itself.
    const reset = await run(['users', 'reset-password', '--email', 'demo@bulwark.local'], env);
    expect(reset.status).toBe(0);
    const newPassword = /Password: (\S+)/.exec(reset.stdout)![1];
    expect(newPassword).not.toBe(demoPassword);
    const offline = await run(['token', '--email', 'ana@example.com'], env);
    expect(offline.status).toBe(0);

    // The second start creates nothing and prints no password; keys and users survived.
    server = await start(env, port);
    try {
      expect(server.stdout()).not.toContain('Password:');
      const res = await fetch(`${baseUrl}/v1/teams`, {
        headers: { authorization: `Bearer ${offline.stdout.trim()}` },
      });
      expect(res.status).toBe(200);
      await expect(
        obtainTokens(baseUrl, { email: 'demo@bulwark.local', password: demoPassword }),
      ).rejects.toThrow(/expected the consent page/);
      await obtainTokens(baseUrl, { email: 'demo@bulwark.local', password: newPassword });
    } finally {
      await server.stop();
    }
    expect(statSync(join(dataDir, 'oauth-keys.json')).mode & 0o777).toBe(0o600);
  }, 180_000);

  it('still offers the demo when a CLI command created the database first, and logs the start-up lines', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'bulwark-first-cli-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = {
      ...process.env,
      DATA_DIR: fresh,
      PORT: String(port),
      BASE_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'info',
    };
    try {
      // What a new user may well try first: it fails (no such user yet) but opens the database.
      const early = await run(['token', '--email', 'demo@bulwark.local'], env);
      expect(early.status).toBe(1);
      const server = await start(env, port);
      try {
        expect(server.stdout()).toContain('E-mail:   demo@bulwark.local');
        // The demo's quiet logger does not outlive it: the server's own start-up line is there.
        expect(server.stdout()).toContain('Listening on');
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 180_000);
});
