import 'reflect-metadata';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { AppModule } from '../../src/app.module';
import { Actor } from '../../src/auth/actor';
import { TokenVerifier } from '../../src/auth/token-verifier';
import { parseTeamId } from '../../src/common/ids';
import { loadConfig } from '../../src/config/config';
import { NOUNS } from '../../src/common/text';
import { renderPage } from '../../src/mcp/render';
import { SitesService } from '../../src/sites/sites.service';
import { TeamsService } from '../../src/teams/teams.service';
import { benchEnv, SITE_COUNT } from '../protocol';
import { runChild } from './child';
import { bearer, closeServer, listen, readBody, Running } from './running';

const jsonRpcError = (code: number, message: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } });

/**
 * The baseline: SDK v1's McpServer and StreamableHTTPServerTransport in stateless JSON mode,
 * a new server and transport per request as the SDK's stateless example does, on plain
 * node:http. The tool makes the same service call as Bulwark's list-sites, after the same token
 * verification, using the services of a Nest application context of the same app.
 */
export async function startBareV1(issuer: string, restToken: string): Promise<Running> {
  const context = await NestFactory.createApplicationContext(
    AppModule.forRoot(loadConfig(benchEnv(issuer))),
    { logger: false },
  );
  const verifier = context.get(TokenVerifier);
  const sites = context.get(SitesService);
  const teams = context.get(TeamsService);

  const owner = await verifier.verify(restToken, 'rest');
  const team = await teams.create(owner, { name: 'Bench team' });
  const teamId = parseTeamId(team.id);
  for (let i = 1; i <= SITE_COUNT; i++) {
    await sites.create(owner, teamId, { name: `Bench site ${i}`, domain: `site${i}.bench.test` });
  }

  const createMcpServer = (actor: Actor) => {
    const server = new McpServer({ name: 'bare-v1', version: '1.0.0' });
    server.registerTool(
      'list-sites',
      {
        title: 'List the sites of a team',
        description: "Lists a team's protected sites.",
        inputSchema: {
          teamId: z.string(),
          limit: z.number().int().min(1).max(100).optional(),
          cursor: z.string().optional(),
        },
      },
      async ({ teamId }) => {
        const page = await sites.list(actor, parseTeamId(teamId), { limit: 50 });
        return {
          content: [
            {
              type: 'text',
              text: renderPage(
                NOUNS.site,
                page,
                (s) => `${s.id} "${s.name}" (${s.domain})`,
                'list-sites',
              ),
            },
          ],
          structuredContent: { ...page },
        };
      },
    );
    return server;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/mcp') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(jsonRpcError(-32000, 'Not found'));
      return;
    }
    const token = bearer(req.headers.authorization);
    let actor: Actor;
    try {
      if (!token) throw new Error('no bearer token');
      actor = await verifier.verify(token, 'mcp');
    } catch {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(jsonRpcError(-32001, 'Unauthorized'));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(jsonRpcError(-32700, 'Parse error'));
      return;
    }
    const server = createMcpServer(actor);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('bare-v1 request failed:', error);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
      }
      res.end(jsonRpcError(-32603, 'Internal error'));
    });
  });
  const port = await listen(http);
  return {
    port,
    teamId,
    async close() {
      await closeServer(http);
      await context.close();
    },
  };
}

runChild('bare-v1', ({ issuer, restToken }) => startBareV1(issuer, restToken));
