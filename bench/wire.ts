import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CEILING_BODY, SITE_COUNT } from './protocol';

/** One HTTP request as the load generator replays it. */
export interface WireRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Creates a team with SITE_COUNT sites through the REST API; returns the team id. */
export async function seedThroughRest(baseUrl: string, restToken: string): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(new URL(path, baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${restToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string };
  };
  const team = await post('/v1/teams', { name: 'Bench team' });
  for (let i = 1; i <= SITE_COUNT; i++) {
    await post(`/v1/teams/${team.id}/sites`, {
      name: `Bench site ${i}`,
      domain: `site${i}.bench.test`,
    });
  }
  return team.id;
}

/**
 * The 2026-07-28 tools/call exactly as the SDK v2 client sends it: the real client, pinned to
 * 2026-07-28, calls list-sites once through a fetch that records the POST carrying tools/call.
 * The call's own result must not be an error.
 */
export async function captureModernCall(
  baseUrl: string,
  mcpToken: string,
  teamId: string,
): Promise<WireRequest> {
  let captured: WireRequest | undefined;
  const recordingFetch = (url: string | URL, init?: RequestInit): Promise<Response> => {
    if (init?.method === 'POST' && typeof init.body === 'string') {
      const message = JSON.parse(init.body) as { method?: string };
      if (message.method === 'tools/call') {
        captured = {
          method: 'POST',
          path: new URL(url).pathname,
          headers: Object.fromEntries(new Headers(init.headers).entries()),
          body: init.body,
        };
      }
    }
    return fetch(url, init);
  };
  const client = new Client(
    { name: 'bulwark-bench', version: '0.1.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), {
      requestInit: { headers: { Authorization: `Bearer ${mcpToken}` } },
      fetch: recordingFetch,
    }),
  );
  try {
    const version = client.getNegotiatedProtocolVersion();
    if (version !== '2026-07-28') throw new Error(`v2 client negotiated ${version}`);
    const result = await client.callTool({ name: 'list-sites', arguments: { teamId } });
    if (result.isError) throw new Error(`v2 client's list-sites failed: ${JSON.stringify(result)}`);
  } finally {
    await client.close();
  }
  if (!captured) throw new Error('the v2 client sent no tools/call POST');
  return captured;
}

/** The 2025-era tools/call: no envelope, the protocol version in a header. */
export function legacyCall(mcpToken: string, teamId: string): WireRequest {
  return {
    method: 'POST',
    path: '/mcp',
    headers: {
      authorization: `Bearer ${mcpToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list-sites', arguments: { teamId } },
    }),
  };
}

/** A ceiling request: the same token, a small body. */
export function ceilingCall(mcpToken: string): WireRequest {
  return { ...legacyCall(mcpToken, 'team_unused'), path: '/' };
}

/**
 * Cheap check of every response during the load: a JSON-RPC result that is not a tool error.
 * No error answer (JSON-RPC error, HTTP problem, empty body) passes it.
 */
export function looksLikeToolSuccess(body: string): boolean {
  return body.includes('"result"') && !body.includes('"isError":true') && !body.includes('"error"');
}

export function isCeilingAnswer(body: string): boolean {
  return body === CEILING_BODY;
}

/**
 * Sends `request` once and checks the answer fully: HTTP 200, JSON, a tools/call result that is
 * not isError and lists SITE_COUNT sites.
 */
export async function verifyToolCall(baseUrl: string, request: WireRequest): Promise<void> {
  const res = await send(baseUrl, request);
  const text = await res.text();
  const fail = (why: string) => {
    throw new Error(`${request.path} answered ${res.status}: ${why}\n${text.slice(0, 500)}`);
  };
  if (res.status !== 200) fail('expected HTTP 200');
  if (!res.headers.get('content-type')?.startsWith('application/json')) {
    fail(`expected application/json, got ${res.headers.get('content-type')}`);
  }
  const message = JSON.parse(text) as {
    result?: { isError?: boolean; structuredContent?: { items?: unknown[] } };
  };
  if (!message.result) fail('no JSON-RPC result');
  if (message.result?.isError) fail('the tool result is an error');
  const items = message.result?.structuredContent?.items?.length;
  if (items !== SITE_COUNT) fail(`expected ${SITE_COUNT} sites, got ${items}`);
  if (!looksLikeToolSuccess(text)) fail('the in-run check would reject this body');
}

export async function verifyCeiling(baseUrl: string, request: WireRequest): Promise<void> {
  const res = await send(baseUrl, request);
  const text = await res.text();
  if (res.status !== 200 || !isCeilingAnswer(text)) {
    throw new Error(`ceiling answered ${res.status}: ${text.slice(0, 200)}`);
  }
}

function send(baseUrl: string, request: WireRequest): Promise<Response> {
  return fetch(new URL(request.path, baseUrl), {
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
}
