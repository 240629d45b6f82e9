import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DiscoveryModule } from '@nestjs/core';
import { z } from 'zod';
import { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { McpTool, McpToolOptions, McpTools, READ_ONLY } from './mcp-tool.decorator';
import { McpToolRegistry, toolProblems } from './mcp-tool.registry';

const Input = z.strictObject({ q: z.string() });
const Output = z.object({ echo: z.string() });
const valid: McpToolOptions<typeof Input, typeof Output> = {
  name: 'echo',
  title: 'Echo',
  description: 'Echoes q. Returns {echo}.',
  input: Input,
  output: Output,
  scope: SCOPES.read,
  annotations: READ_ONLY,
};

async function registryWith(...providers: (new (...args: never[]) => unknown)[]) {
  const module = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [McpToolRegistry, ...providers],
  }).compile();
  await module.init();
  return module.get(McpToolRegistry);
}

describe(McpToolRegistry.name, () => {
  it('accepts a complete declaration', () => {
    expect(toolProblems(valid)).toEqual([]);
  });

  it.each([
    ['title', { title: ' ' }, 'title is missing'],
    ['description', { description: undefined }, 'description is missing'],
    ['annotations', { annotations: undefined }, 'annotations are missing'],
    ['output', { output: undefined }, 'output must be a zod object schema'],
    ['input', { input: z.string() }, 'input must be a zod object schema'],
    ['name', { name: 'Echo Tool' }, 'name must be kebab-case'],
    ['scope', { scope: 'admin' }, 'scope must be bulwark:read or bulwark:write'],
    [
      'openWorldHint',
      { annotations: { ...READ_ONLY, openWorldHint: true } },
      'annotations.openWorldHint must be false',
    ],
    [
      'read-only hint for a write tool',
      { scope: SCOPES.write },
      'a tool that needs bulwark:write cannot be annotated read-only',
    ],
    [
      'a hint',
      { annotations: { ...READ_ONLY, idempotentHint: undefined } },
      'annotations.idempotentHint must be set',
    ],
  ])('refuses a declaration with a bad %s', (_, change, problem) => {
    expect(toolProblems({ ...valid, ...change } as Partial<McpToolOptions>)).toContain(problem);
  });

  it('discovers decorated methods once, with JSON schemas built at start-up', async () => {
    @McpTools()
    @Injectable()
    class EchoTools {
      @McpTool(valid)
      echo(_actor: Actor, { q }: z.output<typeof Input>) {
        return Promise.resolve({ echo: q });
      }
    }
    const registry = await registryWith(EchoTools);
    const tool = registry.get('echo')!;
    expect(tool.definition).toMatchObject({
      name: 'echo',
      title: 'Echo',
      inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
      outputSchema: { type: 'object', properties: { echo: { type: 'string' } } },
      annotations: { readOnlyHint: true, openWorldHint: false },
    });
    expect(tool.definition.inputSchema).not.toHaveProperty('$schema');
    const actor: Actor = { subject: 's', scopes: [SCOPES.read], via: 'mcp' };
    await expect(tool.invoke(actor, { q: 'hi' })).resolves.toEqual({ echo: 'hi' });
    expect(registry.visibleTo(actor)).toHaveLength(1);
    expect(registry.visibleTo({ ...actor, scopes: [] })).toHaveLength(0);
  });

  it('ignores decorated methods on providers not marked @McpTools()', async () => {
    @Injectable()
    class Unmarked {
      @McpTool(valid)
      echo(_actor: Actor, { q }: z.output<typeof Input>) {
        return Promise.resolve({ echo: q });
      }
    }
    expect((await registryWith(Unmarked)).all()).toEqual([]);
  });

  it('fails start-up on a duplicate name, naming both problems and where they are', async () => {
    @McpTools()
    @Injectable()
    class Twice {
      @McpTool(valid)
      first(_actor: Actor, { q }: z.output<typeof Input>) {
        return Promise.resolve({ echo: q });
      }

      @McpTool({ ...valid, annotations: undefined as never })
      second(_actor: Actor, { q }: z.output<typeof Input>) {
        return Promise.resolve({ echo: q });
      }
    }
    await expect(registryWith(Twice)).rejects.toThrow(
      /Twice\.second \(echo\): annotations are missing; the name "echo" is already used/,
    );
  });

  it('shows write tools only to tokens with bulwark:write', async () => {
    @McpTools()
    @Injectable()
    class Mixed {
      @McpTool(valid)
      echo(_actor: Actor, { q }: z.output<typeof Input>) {
        return Promise.resolve({ echo: q });
      }

      @McpTool({
        ...valid,
        name: 'shout',
        scope: SCOPES.write,
        annotations: { ...READ_ONLY, readOnlyHint: false },
      })
      shout(_actor: Actor, { q }: z.output<typeof Input>) {
        return Promise.resolve({ echo: q.toUpperCase() });
      }
    }
    const registry = await registryWith(Mixed);
    const names = (scopes: string[]) =>
      registry.visibleTo({ subject: 's', scopes, via: 'mcp' }).map((t) => t.name);
    expect(names([SCOPES.read])).toEqual(['echo']);
    expect(names([SCOPES.write])).toEqual(['echo', 'shout']);
  });
});
