import { SetMetadata } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import type { Scope } from '../auth/permissions';

export const MCP_TOOL = 'mcp:tool';

/**
 * Annotations every tool must declare: clients use them to decide what to run without asking
 * (read-only) and what to confirm first (destructive). All our tools act on Bulwark's own data
 * only, so openWorldHint is always false.
 */
export interface BulwarkToolAnnotations extends ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: false;
}

export interface McpToolOptions<
  I extends z.ZodObject = z.ZodObject,
  O extends z.ZodObject = z.ZodObject,
> {
  /** kebab-case, unique across the server. */
  name: string;
  title: string;
  /** What it does, what it returns, when to use it, what to call next, side effects. */
  description: string;
  input: I;
  output: O;
  annotations: BulwarkToolAnnotations;
  /** The OAuth scope a token needs to see and call the tool. */
  scope: Scope;
  /** A compact text rendering of the output for clients that show text only; JSON by default. */
  render?: (output: z.output<O>) => string;
}

/** A tool method: receives the verified caller and the parsed input, returns the output. */
export type McpToolMethod<I extends z.ZodObject, O extends z.ZodObject> = (
  actor: Actor,
  input: z.output<I>,
) => Promise<z.input<O>>;

/**
 * Marks a provider whose methods carry `@McpTool`; the MCP module discovers only these, so it
 * never walks Nest's or third-party providers.
 *
 * @example
 * @McpTools()
 * @Injectable()
 * export class RulesTools { ... }
 */
export const McpTools = DiscoveryService.createDecorator<void>();

/**
 * Exposes a provider method as an MCP tool. The method must be a one-line adapter that calls
 * the same service method as its REST twin; authorization stays in the service.
 *
 * @example
 * @McpTool({ name: 'get-rule', title: 'Get a rule', description: '...', input: GetRuleInput,
 *   output: RuleView, scope: SCOPES.read, annotations: READ_ONLY })
 * getRule(actor: Actor, { ruleId }: GetRuleInput) {
 *   return this.rules.get(actor, parseRuleId(ruleId));
 * }
 */
export function McpTool<I extends z.ZodObject, O extends z.ZodObject>(
  options: McpToolOptions<I, O>,
) {
  return <M extends McpToolMethod<I, O>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    SetMetadata(MCP_TOOL, options)(target, key, descriptor);
  };
}

/** Annotations of a tool that only reads. */
export const READ_ONLY: BulwarkToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};
