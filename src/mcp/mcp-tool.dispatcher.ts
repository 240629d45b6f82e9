import { Injectable, Logger } from '@nestjs/common';
import { inSpan } from '../platform/tracing';
import {
  CallToolRequestParams,
  CallToolResult,
  ProtocolError,
  ProtocolErrorCode,
} from '@modelcontextprotocol/server';
import { Actor } from '../auth/actor';
import { hasScope } from '../auth/permissions';
import { DomainError, InsufficientScopeError } from '../common/errors';
import { parseInput } from '../common/validation';
import { McpToolRegistry } from './mcp-tool.registry';

/** Who is calling, and the id of the HTTP request that carries the call (for error reports). */
export interface CallContext {
  actor: Actor;
  requestId?: string;
}

/**
 * Runs one tools/call: scope check, input parsing, the tool method, output shaping. Every
 * failure that the caller can act on becomes an `isError` result whose text says what to do;
 * anything unexpected becomes a generic message naming the request id, with the stack logged.
 */
@Injectable()
export class McpToolDispatcher {
  private readonly logger = new Logger('McpTools');

  constructor(private readonly registry: McpToolRegistry) {}

  async call(params: CallToolRequestParams, context: CallContext): Promise<CallToolResult> {
    const tool = this.registry.get(params.name);
    if (!tool) {
      // An unknown tool is a protocol error (the spec's -32602), not a tool result.
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Unknown tool "${params.name}". Call tools/list to see the tools your token can use.`,
      );
    }
    const { options } = tool;
    try {
      if (!hasScope(context.actor.scopes, options.scope)) {
        throw new InsufficientScopeError(options.scope);
      }
      const input = parseInput(
        options.input,
        params.arguments ?? {},
        undefined,
        `See the inputSchema of ${options.name} in tools/list.`,
      );
      // A span per tool call: an operator's trace shows which tool a slow /mcp request ran.
      const result = await inSpan(
        `mcp tool ${options.name}`,
        { 'mcp.tool.name': options.name },
        () => Promise.resolve(tool.invoke(context.actor, input)),
      );
      const output = options.output.parse(result);
      return {
        content: [{ type: 'text', text: options.render?.(output) ?? JSON.stringify(output) }],
        structuredContent: output,
      };
    } catch (error) {
      return this.toErrorResult(error, options.name, context);
    }
  }

  private toErrorResult(error: unknown, tool: string, context: CallContext): CallToolResult {
    if (error instanceof DomainError) {
      return { isError: true, content: [{ type: 'text', text: error.message }] };
    }
    this.logger.error(
      { err: error, requestId: context.requestId, tool },
      'Unexpected error in MCP tool',
    );
    return {
      isError: true,
      content: [
        {
          type: 'text',
          text: `${tool} failed because of an internal error (request id ${context.requestId ?? 'unknown'}). Retry later; if it keeps failing, report the request id to your Bulwark operator.`,
        },
      ],
    };
  }
}
