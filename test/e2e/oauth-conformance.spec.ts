import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FormBrowser,
  freePort,
  OAuthTestApp,
  registerClient,
  startOAuthApp,
} from '../support/oauth';

/**
 * The official MCP conformance suite's authorization-server scenarios (`conformance
 * authorization`) against Bulwark's built-in authorization server. The suite has two, both
 * applicable to Bulwark and both run by every test here (a whole-suite run, no `--scenario`):
 *
 * - authorization-server-metadata-endpoint: RFC 8414 metadata at the well-known URL built from
 *   the issuer (BASE_URL): 200, JSON, issuer equal to BASE_URL, authorization and token
 *   endpoints, response type `code`, PKCE method S256. Its CIMD check
 *   (client_id_metadata_document_supported, a SHOULD of the 2025-11-25 revision) is a WARNING
 *   by the suite's own rules and stays one: Bulwark registers clients by DCR and does not
 *   accept Client ID Metadata Documents.
 * - authorization-code-grant: the suite sends a user to the authorization endpoint (PKCE S256,
 *   `resource` when given, never `scope`), waits for the redirect on its own callback server
 *   (http://127.0.0.1:<port>/callback), checks state, code and iss, then exchanges the code at
 *   the token endpoint (200, JSON, Cache-Control no-store, access_token, token_type). The suite
 *   does not register a client (it takes `--client-id`): the test registers one by DCR. Nor can
 *   it sign in: it prints the URL for a person to open. The person is this test, which reads the
 *   URL, fills the sign-in and consent forms over HTTP and follows the redirect to the callback,
 *   as a browser would. The scenario reads the metadata scenario's result, so it only works in
 *   a whole-suite run (`--scenario authorization-code-grant` alone fails with "Invalid
 *   authorization server metadata").
 *
 * The suite's authorization request carries no `scope`. RFC 6749 §3.3 (kept in OAuth 2.1) lets
 * the server use a pre-defined default: Bulwark's is the protected-resource metadata's
 * scopes_supported (`bulwark:read bulwark:write`), shown on the consent page. (This suite found
 * the earlier behaviour: sign-in, then `access_denied` without a description.)
 *
 * Not applicable:
 * - a confidential client (`--client-secret`): the suite authenticates with `none` whenever the
 *   server lists `none` in token_endpoint_auth_methods_supported, as Bulwark does for public MCP
 *   clients, so it would send no secret and a confidential client would rightly be refused. MCP
 *   clients register as public clients (`none`, with PKCE).
 * - the suite's `client` and `server` commands: they test an MCP client and an MCP server; the
 *   MCP server is run through them in mcp-conformance.spec.ts.
 */

const VERSION = '0.2.0-alpha.12';
const CONFORMANCE = ['-y', '-p', 'node@22', '-p', `@modelcontextprotocol/conformance@${VERSION}`];
const USER = { email: 'conformance@example.com', password: 'correct horse battery staple' };
/** A run's own limit; the suite would otherwise wait five minutes for a callback. */
const RUN_TIMEOUT = 150_000;

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

interface Run {
  code: number | null;
  output: string;
  /** What the test's browser did with the URL the suite printed, or why it failed. */
  browser?: string;
  checks: Record<string, Check[]>;
}

const children = new Set<ChildProcess>();

/** npx runs the suite in a node process of its own: end the whole process group. */
function kill(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs `conformance authorization` with `args`; hands the authorization URL the suite prints to
 * `browser`. Results come from the suite's checks.json files (one per scenario, `-o`).
 */
function conformance(args: string[], browser: (url: string) => Promise<string>): Promise<Run> {
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
      run.output += `\n[test] killed after ${RUN_TIMEOUT} ms`;
      kill(child);
    }, RUN_TIMEOUT);
    let opened = false;
    child.stdout.on('data', (chunk: Buffer) => {
      run.output += chunk.toString();
      // "Access the following URL in your browser ...", then the URL on a line of its own.
      const url = /Access the following URL[^\n]*\n(\S+)\n/.exec(run.output)?.[1];
      if (!url || opened) return;
      opened = true;
      browser(url).then(
        (result) => (run.browser = result),
        (error: unknown) => {
          run.browser = `failed: ${error instanceof Error ? error.message : String(error)}`;
          kill(child);
        },
      );
    });
    child.stderr.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      run.code = code;
      try {
        // Folders are authorization-server-<scenario>-<timestamp>; one cut short has no file.
        for (const dir of readdirSync(outputDir)) {
          const scenario = /^authorization-server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(dir)?.[1];
          const file = join(outputDir, dir, 'checks.json');
          if (scenario && existsSync(file)) {
            run.checks[scenario] = JSON.parse(readFileSync(file, 'utf8')) as Check[];
          }
        }
      } finally {
        rmSync(outputDir, { recursive: true, force: true });
      }
      resolve(run);
    });
  });
}

/** Each scenario's checks as `id: STATUS (error)`, for failures that read well. */
function summary(run: Run): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(run.checks).map(([scenario, checks]) => [
      scenario,
      checks.map((c) => `${c.id}: ${c.status}${c.errorMessage ? ` (${c.errorMessage})` : ''}`),
    ]),
  );
}

const METADATA = [
  'authorization-server-metadata: SUCCESS',
  'authorization-server-metadata-cimd: WARNING (Authorization server metadata does not include "client_id_metadata_document_supported")',
];

describe('official MCP conformance suite: authorization server scenarios', () => {
  let server: OAuthTestApp;

  beforeAll(async () => {
    server = await startOAuthApp({}, { users: [USER] });
  }, 60_000);
  afterAll(async () => {
    for (const child of children) kill(child);
    await server?.close();
  });

  /**
   * A person at a browser: opens the URL, signs in, allows the consent page if there is one,
   * and follows the redirect back to the suite's callback.
   */
  function person() {
    return async (printed: string): Promise<string> => {
      const url = new URL(printed);
      const browser = new FormBrowser(url.origin);
      const login = await browser.get(url.href);
      if (!login.html.includes('Sign in to Bulwark')) {
        throw new Error(`expected the sign-in page, got ${login.status}:\n${login.html}`);
      }
      const next = await browser.submit(login, USER);
      if (!browser.leftTo) {
        if (!next.html.includes('It asks for')) {
          throw new Error(`expected the consent page, got ${next.status}:\n${next.html}`);
        }
        await browser.submit(next, { decision: 'approve' });
      }
      const redirect = browser.leftTo;
      if (!redirect) throw new Error('the flow never redirected back to the client');
      // The suite logs "Callback server started" only after printing the URL: retry briefly.
      for (let attempt = 1; ; attempt++) {
        try {
          await (await fetch(redirect)).arrayBuffer();
          break;
        } catch (error) {
          if (attempt === 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      return `${next.html.includes('It asks for') ? 'consented' : 'no consent page'}; ${redirect.href}`;
    };
  }

  async function runSuite(opts: { resource: boolean }): Promise<Run> {
    const port = await freePort();
    const client = await registerClient(server.url, {
      client_name: 'MCP conformance suite',
      redirect_uris: [`http://127.0.0.1:${port}/callback`],
    });
    return conformance(
      [
        ...['--url', server.baseUrl, '--client-id', client.client_id, '--port', String(port)],
        ...(opts.resource ? ['--resource', `${server.baseUrl}/mcp`] : []),
      ],
      person(),
    );
  }

  it.each([
    ['with an RFC 8707 resource, as MCP clients send', true],
    ['without a resource (the default resource, BASE_URL/mcp)', false],
  ])(
    'passes authorization-server-metadata-endpoint and authorization-code-grant %s, with the default scope',
    async (_name, resource) => {
      const run = await runSuite({ resource });
      const context = { code: run.code, browser: run.browser, output: run.output };
      expect({ checks: summary(run), ...context }).toEqual({
        checks: {
          'authorization-server-metadata-endpoint': METADATA,
          'authorization-code-grant': ['authorization-code-grant: SUCCESS'],
        },
        ...context,
        code: 0,
      });
      expect(run.output).toMatch(/Total: 2 passed, 0 failed/);
      expect(run.browser).toMatch(/^consented; /);
    },
    RUN_TIMEOUT + 30_000,
  );
});
