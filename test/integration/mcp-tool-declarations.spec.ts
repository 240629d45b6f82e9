import { McpToolRegistry, toolProblems } from '../../src/mcp/mcp-tool.registry';
import { startApp, TestApp } from '../support/app';
import { formatsIn, JSON_SCHEMA_FORMATS } from '../support/json-schema-formats';

/**
 * Every tool the application serves is complete: an agent can only use a tool well if it knows
 * what it does, what it returns, what to call next, and whether it is safe to run unasked.
 */
describe('MCP tool declarations', () => {
  let t: TestApp;
  let registry: McpToolRegistry;

  beforeAll(async () => {
    t = await startApp('pglite');
    registry = t.app.get(McpToolRegistry);
  }, 60_000);
  afterAll(() => t?.close());

  it('serves at least the management tools', () => {
    expect(registry.all().length).toBeGreaterThanOrEqual(12);
  });

  it('declares title, description, annotations, input and output schema on every tool', () => {
    for (const tool of registry.all()) {
      const { definition } = tool;
      expect({ tool: tool.name, problems: toolProblems(tool.options) }).toEqual({
        tool: tool.name,
        problems: [],
      });
      expect(definition.title).toBeTruthy();
      expect(definition.inputSchema.type).toBe('object');
      expect(definition.outputSchema?.type).toBe('object');
      expect(definition.annotations).toEqual(
        expect.objectContaining({
          readOnlyHint: expect.any(Boolean),
          destructiveHint: expect.any(Boolean),
          idempotentHint: expect.any(Boolean),
          openWorldHint: false,
        }),
      );
    }
  });

  it('advertises only standard JSON Schema formats in every input and output schema', () => {
    for (const { name, definition } of registry.all()) {
      const odd = formatsIn({ input: definition.inputSchema, output: definition.outputSchema })
        .filter(({ format }) => !JSON_SCHEMA_FORMATS.includes(format))
        .map(({ at, format }) => `${at}: ${format}`);
      expect({ tool: name, nonStandardFormats: odd }).toEqual({
        tool: name,
        nonStandardFormats: [],
      });
    }
  });

  it('says in every description what the tool returns and what to call next', () => {
    for (const { name, options } of registry.all()) {
      expect({ name, returns: /Returns/.test(options.description) }).toEqual({
        name,
        returns: true,
      });
      expect({ name, next: /Next:|call \w+-\w+/i.test(options.description) }).toEqual({
        name,
        next: true,
      });
    }
  });

  it('states the side effects of every tool that is not read-only', () => {
    for (const { name, options } of registry.all()) {
      if (options.annotations.readOnlyHint) continue;
      expect({
        name,
        sideEffects: /Side effect|safe to create/i.test(options.description),
      }).toEqual({
        name,
        sideEffects: true,
      });
    }
  });

  it('requires bulwark:write for every tool that changes something', () => {
    for (const { name, options } of registry.all()) {
      if (!options.annotations.readOnlyHint) {
        expect({ name, scope: options.scope }).toEqual({ name, scope: 'bulwark:write' });
      }
    }
  });
});
