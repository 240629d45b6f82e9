import { spawn } from 'node:child_process';
import { startApp, TestApp } from '../support/app';
import { startForwardingProxy } from '../support/forwarding-proxy';

/** The official suite's scenarios that apply to a tools-only, stateless server. */
const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection'];
const CONFORMANCE = ['-y', '-p', 'node@22', '-p', '@modelcontextprotocol/conformance@0.1.16', '--'];

function conformance(
  url: string,
  scenario: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'npx',
      [...CONFORMANCE, 'conformance', 'server', '--url', url, '--scenario', scenario],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('official MCP conformance suite', () => {
  let t: TestApp;
  let proxy: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    // A loopback BASE_URL, as the DNS-rebinding scenario requires of a local server.
    t = await startApp('pglite', { BASE_URL: 'http://localhost' });
    proxy = await startForwardingProxy(
      t.url,
      await t.issuer.token('alice', 'http://localhost/mcp', { expiresIn: '1h' }),
    );
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await t?.close();
  });

  it.each(SCENARIOS)(
    'passes %s',
    async (scenario) => {
      const { code, output } = await conformance(`${proxy.url}/mcp`, scenario);
      expect({ scenario, code, output: code === 0 ? 'passed' : output }).toEqual({
        scenario,
        code: 0,
        output: 'passed',
      });
      expect(output).toMatch(/OVERALL: PASSED|0 failed/);
    },
    180_000,
  );
});
