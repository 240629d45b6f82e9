import { ValidationError } from '../common/errors';
import { parseInput } from '../common/validation';
import { CreateRuleInput } from './rules.schemas';

const errorsOf = (input: unknown) => {
  try {
    parseInput(CreateRuleInput, input);
  } catch (e) {
    return (e as ValidationError).errors;
  }
  throw new Error('expected a validation error');
};

describe('rule configuration schemas', () => {
  it('accepts each rule type with its defaults filled in', () => {
    expect(parseInput(CreateRuleInput, { name: 's', type: 'shield', config: {} }).config).toEqual({
      detect: ['sql_injection', 'xss', 'path_traversal', 'command_injection', 'scanner'],
    });
    expect(
      parseInput(CreateRuleInput, {
        name: 'r',
        type: 'rate_limit',
        config: { algorithm: 'token_bucket', capacity: 5, refillRate: 1, intervalSeconds: 1 },
      }).config,
    ).toMatchObject({ characteristic: 'ip' });
    expect(
      parseInput(CreateRuleInput, { name: 'b', type: 'bot', config: { deny: ['scraper'] } }).config,
    ).toMatchObject({ allow: [], denyEmptyUserAgent: true });
    expect(
      parseInput(CreateRuleInput, {
        name: 'f',
        type: 'filter',
        config: { action: 'deny', match: { ips: ['203.0.113.0/24', '2001:db8::1'] } },
      }).type,
    ).toBe('filter');
    expect(
      parseInput(CreateRuleInput, { name: 'e', type: 'email', config: { deny: ['disposable'] } })
        .type,
    ).toBe('email');
  });

  it('names an unknown type and the allowed ones', () => {
    expect(errorsOf({ name: 'x', type: 'firewall', config: {} })).toEqual([
      {
        field: 'type',
        message: expect.stringMatching(
          /^must be one of "shield", "rate_limit", "bot", "filter", "email"; /,
        ) as unknown,
      },
    ]);
  });

  it('answers an empty body with the shape of a rule, not only the missing type', () => {
    // zod stops at the missing discriminator: the one error must name name and config too.
    const [only, ...rest] = errorsOf({});
    expect(rest).toEqual([]);
    expect(only.field).toBe('type');
    expect(only.message).toContain('"shield", "rate_limit", "bot", "filter", "email"');
    expect(only.message).toContain('{name, type, config}');
    expect(only.message).toContain('config fields depending on its type');
    expect(errorsOf(undefined)).toEqual([
      { field: 'body', message: expect.stringMatching(/^is required: .*\{name, type, config\}/) },
    ]);
  });

  it('explains that a new rule cannot be given a mode, and lists the fields a config accepts', () => {
    expect(
      errorsOf({ name: 'x', type: 'shield', mode: 'LIVE', config: { detect: ['xss'] } }),
    ).toEqual([
      { field: 'mode', message: expect.stringContaining('a new rule always starts in DRY_RUN') },
    ]);
    expect(errorsOf({ name: 'x', type: 'shield', config: { deny: ['xss'] } })).toEqual([
      { field: 'config.deny', message: 'is not a recognised field; remove it (accepted: detect)' },
    ]);
  });

  it('lists every bad field with the allowed values', () => {
    const errors = errorsOf({
      name: '',
      type: 'filter',
      config: { action: 'block', match: { ips: ['300.1.1.1'], methods: ['FETCH'] }, extra: 1 },
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        { field: 'name', message: 'must not be empty' },
        { field: 'config.action', message: 'must be one of "deny", "allow"' },
        expect.objectContaining({
          field: 'config.match.ips.0',
          message: expect.stringContaining('CIDR'),
        }),
        {
          field: 'config.match.methods.0',
          message: 'must be one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"',
        },
        {
          field: 'config.extra',
          message: 'is not a recognised field; remove it (accepted: action, match)',
        },
      ]),
    );
  });

  it('rejects a rate limit with a non-integer window and a filter with no condition', () => {
    expect(
      errorsOf({
        name: 'r',
        type: 'rate_limit',
        config: { algorithm: 'fixed_window', max: 10, windowSeconds: 1.5 },
      }),
    ).toEqual([{ field: 'config.windowSeconds', message: 'must be a whole number of seconds' }]);
    expect(
      errorsOf({ name: 'f', type: 'filter', config: { action: 'deny', match: {} } })[0].field,
    ).toBe('config.match');
  });
});
