import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACTED_PATHS } from '../../src/platform/logging';

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
    const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
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
  it('never writes Authorization or Cookie headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()),
    });
    const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
    logger.info(
      { req: { headers: { authorization: 'Bearer secret-token', cookie: 'sid=1' } } },
      'request',
    );
    expect(lines.join('')).not.toContain('secret-token');
    expect(lines.join('')).not.toContain('sid=1');
    expect(lines.join('')).toContain('[redacted]');
  });
});
