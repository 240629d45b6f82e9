import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/**
 * The clients found in the wild: SDK v2 negotiating 2026-07-28, SDK v2 speaking the 2025-era
 * handshake, and SDK v1 (2025-era only).
 */
export const CLIENT_KINDS = ['v2 on 2026-07-28', 'v2 on 2025-11-25', 'v1 on 2025-era'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** What the tests need of either SDK's client. */
export interface TestClient {
  protocolVersion: string | undefined;
  instructions: string | undefined;
  listTools(): Promise<
    { name: string; annotations?: Record<string, unknown>; [k: string]: unknown }[]
  >;
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

export async function connect(
  kind: ClientKind,
  baseUrl: string,
  token: string,
): Promise<TestClient> {
  const url = new URL('/mcp', baseUrl);
  const requestInit = { headers: { Authorization: `Bearer ${token}` } };
  if (kind === 'v1 on 2025-era') {
    const client = new ClientV1({ name: 'bulwark-test-v1', version: '1.0.0' });
    const transport = new TransportV1(url, { requestInit });
    await client.connect(transport);
    return {
      protocolVersion: transport.protocolVersion,
      instructions: client.getInstructions(),
      listTools: async () => (await client.listTools()).tools,
      call: async (name, args) => (await client.callTool({ name, arguments: args })) as ToolResult,
      close: () => client.close(),
    };
  }
  const client = new ClientV2(
    { name: 'bulwark-test-v2', version: '2.0.0' },
    {
      versionNegotiation: { mode: kind === 'v2 on 2026-07-28' ? { pin: '2026-07-28' } : 'legacy' },
    },
  );
  await client.connect(new TransportV2(url, { requestInit }));
  return {
    protocolVersion: client.getNegotiatedProtocolVersion(),
    instructions: client.getInstructions(),
    listTools: async () => (await client.listTools()).tools,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as ToolResult,
    close: () => client.close(),
  };
}
