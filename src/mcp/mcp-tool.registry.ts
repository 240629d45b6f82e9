import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { MCP_TOOL, McpToolOptions, McpTools } from './mcp-tool.decorator';

export interface RegisteredTool {
  name: string;
  options: McpToolOptions;
  /** The tools/list entry, built once at start-up. */
  definition: Tool;
  invoke(actor: Actor, input: unknown): Promise<unknown>;
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Everything wrong with a tool's declaration, so start-up names every problem at once. A tool
 * without a description, annotations or an output schema would be served to agents that cannot
 * use it well, so it is refused rather than served broken.
 */
export function toolProblems(
  options: Partial<Omit<McpToolOptions, 'input' | 'output' | 'render'>> & {
    input?: unknown;
    output?: unknown;
  },
): string[] {
  const problems: string[] = [];
  if (!options.name || !NAME.test(options.name)) problems.push('name must be kebab-case');
  if (!options.title?.trim()) problems.push('title is missing');
  if (!options.description?.trim()) problems.push('description is missing');
  if (!(options.input instanceof z.ZodObject)) problems.push('input must be a zod object schema');
  if (!(options.output instanceof z.ZodObject)) problems.push('output must be a zod object schema');
  if (options.scope !== SCOPES.read && options.scope !== SCOPES.write) {
    problems.push(`scope must be ${SCOPES.read} or ${SCOPES.write}`);
  }
  const a = options.annotations;
  if (!a) {
    problems.push('annotations are missing');
  } else {
    for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint'] as const) {
      if (typeof a[hint] !== 'boolean') problems.push(`annotations.${hint} must be set`);
    }
    if (a.openWorldHint !== false) problems.push('annotations.openWorldHint must be false');
    if (a.readOnlyHint && a.destructiveHint) {
      problems.push('a read-only tool cannot be destructive');
    }
    // Clients may run read-only tools without asking. A tool that needs bulwark:write changes
    // something or reveals a secret (get-site-key), so it must never be advertised as read-only.
    if (a.readOnlyHint && options.scope === SCOPES.write) {
      problems.push('a tool that needs bulwark:write cannot be annotated read-only');
    }
  }
  return problems;
}

/** JSON Schema for the wire: the schema's own dialect marker is dropped for older validators. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Tool['inputSchema'] {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest as Tool['inputSchema'];
}

export function toolDefinition(options: McpToolOptions): Tool {
  return {
    name: options.name,
    title: options.title,
    description: options.description,
    inputSchema: jsonSchema(options.input, 'input'),
    outputSchema: jsonSchema(options.output, 'output'),
    annotations: { title: options.title, ...options.annotations },
  };
}

/**
 * Finds every `@McpTool` method on `@McpTools()` providers at start-up and builds the tool list
 * once: JSON schemas are computed here, never per request. Knows nothing of the domain.
 */
@Injectable()
export class McpToolRegistry implements OnModuleInit {
  private readonly tools = new Map<string, RegisteredTool>();
  private readOnlyList: Tool[] = [];
  private fullList: Tool[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    for (const wrapper of this.discovery.getProviders({ metadataKey: McpTools.KEY })) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = instance[method] as (...args: unknown[]) => Promise<unknown>;
        const options = this.reflector.get<McpToolOptions | undefined>(MCP_TOOL, handler);
        if (!options) continue;
        const where = `${wrapper.name}.${method}`;
        const found = toolProblems(options);
        if (this.tools.has(options.name)) {
          found.push(`the name "${options.name}" is already used by another tool`);
        }
        if (found.length > 0) {
          problems.push(`${where} (${options.name ?? 'unnamed'}): ${found.join('; ')}`);
          continue;
        }
        this.tools.set(options.name, {
          name: options.name,
          options,
          definition: toolDefinition(options),
          invoke: (actor, input) => handler.call(instance, actor, input),
        });
      }
    }
    if (problems.length > 0) {
      throw new Error(`Invalid MCP tool declarations:\n- ${problems.join('\n- ')}`);
    }
    const all = [...this.tools.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.fullList = all.map((t) => t.definition);
    this.readOnlyList = all.filter((t) => t.options.scope === SCOPES.read).map((t) => t.definition);
  }

  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  all(): RegisteredTool[] {
    return [...this.tools.values()];
  }

  /**
   * The tools a caller may call: write tools only for tokens carrying bulwark:write, so an
   * agent holding a read-only token is never offered an action it cannot take.
   */
  visibleTo(actor: Actor): Tool[] {
    if (actor.scopes.includes(SCOPES.write)) return this.fullList;
    if (actor.scopes.includes(SCOPES.read)) return this.readOnlyList;
    return [];
  }
}
