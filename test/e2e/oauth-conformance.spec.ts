import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  OAuthTestApp,
  registerClient,
  signInAndConsent,
  startOAuthApp,
} from '../support/oauth';

const VERSION = '0.2.0-alpha.12';
const CONFORMANCE = ['-y', '-p', 'node@22', '-p', `@modelcontextprotocol/conformance@${VERSION}`];
const USER = { email: 'conformance@example.com', password: 'correct horse battery staple' };

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

interface Run {
  code: number | null;
  output: string;
  /** The authorization URL the suite asked a person to open, if it got that far. */
  authorizationUrl?: string;
  /** What signing in and delivering the callback did, or why it failed. */
  login?: string;
  checks: Record<string, Check[]>;
}

const children = new Set<ChildProcess>();

function kill(child: ChildProcess): void {
  // npx runs the suite in a child node process: end the whole group, not just npx.
  if (child.exitCode === null && child.signalCode === null && child.pid) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `conformance authorization` against the issuer. The authorization-code-grant scenario
 * prints the authorization URL and waits for a person to sign in in a browser; `onUrl` plays that
 * person. Results come from the suite's own checks.json files, one per scenario.
 */
function conformance(
  args: string[],
  onUrl?: (url: string) => Promise<string>,
  timeoutMs = 150_000,
): Promise<Run> {
  const outputDir = mkdtempSync(join(tmpdir(), 'bulwark-as-conformance-'));
  return new Promise((resolve) => {
    const child = spawn(
      'npx',
      [...CONFORMANCE, '--', 'conformance', 'authorization', ...args, '-o', outputDir],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    children.add(child);
    const run: Run = { code: null, output: '', checks: {} };
    const timer = setTimeout(() => {
      run.output += `\n[test] killed after ${timeoutMs} ms`;
      kill(child);
    }, timeoutMs);
    let pending = '';
    let announced = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      run.output += text;
      pending += text;
      // "Access the following URL in your browser ..." then the URL on a line of its own.
      const match = /Access the following URL[^\n]*\n(\S+)\n/.exec(pending);
      if (match && !announced && onUrl) {
        announced = true;
        run.authorizationUrl = match[1];
        onUrl(match[1]).then(
          (result) => (run.login = result),
          (error: unknown) => {
            run.login = `login failed: ${error instanceof Error ? error.message : String(error)}`;
            kill(child); // otherwise the suite waits five minutes for a callback
          },
        );
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      run.code = code;
      for (const dir of readdirSync(outputDir)) {
        const scenario = /^authorization-server-(.+)-\d{4}-\d\d-\d\dT.*$/.exec(dir)?.[1];
        if (scenario) {
          run.checks[scenario] = JSON.parse(
            readFileSync(join(outputDir, dir, 'checks.json'), 'utf8'),
          ) as Check[];
        }
      }
      rmSync(outputDir, { recursive: true, force: true });
      resolve(run);
    });
  });
}

/** Each check as `id: STATUS`, with the error when there is one, for readable failures. */
function summary(run: Run): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(run.checks).map(([scenario, checks]) => [
      scenario,
      checks.map((c) => `${c.id}: ${c.status}${c.errorMessage ? ` (${c.errorMessage})` : ''}`),
    ]),
  );
}

/**
 * The official MCP conformance suite's authorization-server scenarios (`conformance
 * authorization`, @modelcontextprotocol/conformance 0.2.0-alpha) against the built-in
 * authorization server. The suite has two such scenarios, both applicable and both run here:
 *
 * - authorization-server-metadata-endpoint: RFC 8414 metadata at the well-known URL built from
 *   the issuer (BASE_URL): 200, JSON, issuer equal to BASE_URL, authorization and token
 *   endpoints, response type `code`, PKCE method S256. Its CIMD check
 *   (client_id_metadata_document_supported, a SHOULD of the 2025-11-25 revision) is a WARNING
 *   by the suite's own rules and stays one: Bulwark registers clients by DCR and does not
 *   accept Client ID Metadata Documents.
 * - authorization-code-grant: the suite sends a user to the authorization endpoint with PKCE
 *   S256 (and `resource` when given), waits for the redirect on its own callback server
 *   (http://127.0.0.1:<port>/callback), then exchanges the code at the token endpoint. The
 *   "user" is this test: it reads the URL the suite prints, fills the sign-in and consent forms
 *   over HTTP and follows the redirect to the callback, as a browser would. The client is
 *   registered beforehand by DCR; the suite does not register one itself.
 *   It depends on the metadata scenario's result, so it only runs in a whole-suite run (with
 *   `--scenario authorization-code-grant` alone it fails with "Invalid authorization server
 *   metadata").
 *
 * Not applicable:
 * - a confidential client (`--client-secret`): the suite authenticates with `none` whenever the
 *   server lists `none` among token_endpoint_auth_methods_supported, which Bulwark does for
 *   public MCP clients, so it would send no secret and a confidential client is rightly
 *   refused. MCP clients register as public clients (`none` with PKCE).
 * - the suite's client and server scenarios: they test MCP clients, and the MCP server is
 *   covered by mcp-conformance.spec.ts.
 */
describe('official MCP conformance suite: authorization server scenarios', () => {
  let server: OAuthTestApp;

  beforeAll(async () => {
    server = await startOAuthApp();
    await server.users.create(USER);
  }, 60_000);
  afterAll(async () => {
    for (const child of children) kill(child);
    await server?.close();
  });

  /** Signs in as USER and delivers the redirect to the suite's callback server. */
  async function browser(url: string): Promise<string> {
    const { redirect } = await signInAndConsent(url, USER);
    const res = await fetch(redirect);
    await res.arrayBuffer();
    return `callback ${res.status} ${redirect.href}`;
  }

  it.each([
    ['with an RFC 8707 resource (as MCP clients send)', true],
    ['without a resource (the default resource, BASE_URL/mcp)', false],
  ])(
    'passes authorization-server-metadata-endpoint and authorization-code-grant %s',
    async (_name, withResource) => {
      const port = await freePort();
      const client = await registerClient(server.url, {
        client_name: 'MCP conformance suite',
        redirect_uris: [`http://127.0.0.1:${port}/callback`],
      });
      const run = await conformance(
        [
          '--url',
          server.baseUrl,
          '--client-id',
          client.client_id,
          '--port',
          String(port),
          ...(withResource ? ['--resource', `${server.baseUrl}/mcp`] : []),
        ],
        browser,
      );
      const context = { code: run.code, login: run.login, output: run.output };
      expect({ checks: summary(run), ...context }).toEqual({
        checks: {
          'authorization-server-metadata-endpoint': [
            'authorization-server-metadata: SUCCESS',
            'authorization-server-metadata-cimd: WARNING (Authorization server metadata does not include "client_id_metadata_document_supported")',
          ],
          'authorization-code-grant': ['authorization-code-grant: SUCCESS'],
        },
        ...context,
        code: 0,
      });
      expect(run.output).toMatch(/Total: \d+ passed, 0 failed/);
    },
    180_000,
  );
});
