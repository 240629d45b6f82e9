import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '../../bin/bulwark.js');

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

/** An OTLP/HTTP (JSON) receiver: what an OpenTelemetry collector does with the spans we send. */
function collector(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans }),
    ),
  );
}

async function until<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The built server with OTEL_EXPORTER_OTLP_ENDPOINT set, as an operator runs it: every request,
 * the hot routes served ahead of Nest included, is a server span continuing the caller's
 * traceparent, MCP tool calls are child spans, and log lines carry the trace id.
 */
describe('tracing (OpenTelemetry over OTLP/HTTP)', () => {
  it('continues the caller’s trace on REST, /v1/decide and /mcp, runs a tool in a child span, and stamps log lines with it', async () => {
    const otlp = await collector();
    const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-tracing-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = spawn('node', [BIN, 'serve'], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(port),
        BULWARK_DEMO: 'off',
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    server.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const base = `http://127.0.0.1:${port}`;
    try {
      await until('the server', () => (out.includes('Listening on') ? true : undefined), 30_000);
      const traced = async (path: string, init: RequestInit = {}) => {
        const traceId = randomBytes(16).toString('hex');
        const parent = randomBytes(8).toString('hex');
        const res = await fetch(`${base}${path}`, {
          ...init,
          headers: { ...init.headers, traceparent: `00-${traceId}-${parent}-01` },
        });
        return { traceId, parent, status: res.status };
      };
      const rest = await traced('/.well-known/oauth-protected-resource/mcp');
      const decide = await traced('/v1/decide', {
        method: 'POST',
        headers: { authorization: 'Bearer bwk_unknown', 'content-type': 'application/json' },
        body: '{}',
      });
      const mcp = await traced('/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect([rest.status, decide.status, mcp.status]).toEqual([200, 401, 401]);
      // An authenticated tool call: the tool runs in a child span of the POST /mcp span.
      const cli = (args: string[], input?: string) =>
        execFileSync('node', [BIN, ...args], {
          env: { ...process.env, DATA_DIR: dataDir, PORT: String(port) },
          input,
        }).toString();
      cli(['users', 'create', '--email', 'tracer@example.com', '--password-stdin'], 'x'.repeat(16));
      const token = cli(['token', '--email', 'tracer@example.com']).trim();
      const tool = await traced('/mcp', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'list-teams', arguments: {} },
        }),
      });
      expect(tool.status).toBe(200);
      const toolSpan = await until('the tool span', () =>
        otlp.spans.find((s) => s.traceId === tool.traceId && s.name === 'mcp tool list-teams'),
      );
      const requestSpan = otlp.spans.find(
        (s) => s.traceId === tool.traceId && s.name === 'POST /mcp',
      );
      expect(requestSpan).toMatchObject({ parentSpanId: tool.parent });
      expect(toolSpan.parentSpanId).toBe(requestSpan!.spanId);
      expect(toolSpan.attributes).toContainEqual({
        key: 'mcp.tool.name',
        value: { stringValue: 'list-teams' },
      });

      for (const [call, name] of [
        [rest, 'GET /.well-known/oauth-protected-resource/mcp'],
        [decide, 'POST /v1/decide'],
        [mcp, 'POST /mcp'],
      ] as const) {
        const span = await until(`the span of ${name}`, () =>
          otlp.spans.find((s) => s.traceId === call.traceId),
        );
        expect(span).toMatchObject({ name, parentSpanId: call.parent });
        expect(span.attributes).toContainEqual({
          key: 'http.route',
          value: { stringValue: name.split(' ')[1] },
        });
      }
      // No header reaches a span: the site key and the token above are nowhere in what was exported.
      expect(JSON.stringify(otlp.spans)).not.toContain('bwk_unknown');
      expect(JSON.stringify(otlp.spans)).not.toContain(token);
      const line = await until('the /mcp log line', () =>
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { trace_id?: string; req?: { url?: string } })
          .find((l) => l.req?.url === '/mcp'),
      );
      expect(line.trace_id).toBe(mcp.traceId);
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
      otlp.server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
