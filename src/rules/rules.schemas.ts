import { isIP } from 'node:net';
import { z } from 'zod';
import { pageSchema } from '../common/pagination';
import { urlPath } from '../common/url-path';

export const RULE_TYPES = ['shield', 'rate_limit', 'bot', 'filter', 'email'] as const;
export type RuleType = (typeof RULE_TYPES)[number];
/**
 * Types a recorded rule result can have: Bulwark's rule types, plus the Arcjet SDK's rules that
 * only the SDK itself evaluates (it reports their local denials).
 */
export const RESULT_TYPES = [...RULE_TYPES, 'sensitive_info', 'prompt_injection'] as const;
export type ResultType = (typeof RESULT_TYPES)[number];
export const RULE_MODES = ['DRY_RUN', 'LIVE'] as const;
export type RuleMode = (typeof RULE_MODES)[number];

export const SHIELD_ATTACKS = [
  'sql_injection',
  'xss',
  'path_traversal',
  'command_injection',
  'scanner',
] as const;
export const BOT_CATEGORIES = [
  'search_engine',
  'ai_crawler',
  'social_preview',
  'monitor',
  'http_client',
  'scraper',
  'headless_browser',
  'unknown_bot',
] as const;
export const NETWORK_TYPES = ['hosting', 'vpn', 'tor', 'residential', 'unknown'] as const;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const EMAIL_CHECKS = ['invalid', 'disposable', 'free'] as const;

const PositiveInt = (max: number, what: string) =>
  z.number().int(`must be a whole number of ${what}`).min(1).max(max);

const Characteristic = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]{1,64}$/,
    'must be "ip" or a characteristic name of 1 to 64 letters, digits, _ . or -',
  )
  .default('ip')
  .describe(
    'What requests are counted by: "ip" (default) or the name of a characteristic the app sends with each decide call, such as userId.',
  );

const PathPrefixes = z
  .array(urlPath(512))
  .max(50)
  .optional()
  .describe(
    'Only requests whose path starts with one of these prefixes count; all paths when omitted.',
  );

export const ShieldConfig = z.strictObject({
  detect: z
    .array(z.enum(SHIELD_ATTACKS))
    .min(1)
    .default([...SHIELD_ATTACKS])
    .describe(
      `Attack classes to detect in path, query and headers: ${SHIELD_ATTACKS.join(', ')}. All when omitted.`,
    ),
});

const FixedWindow = z.strictObject({
  algorithm: z.literal('fixed_window'),
  max: PositiveInt(1_000_000, 'requests').describe('Requests allowed per window.'),
  windowSeconds: PositiveInt(86_400, 'seconds').describe('Window length in seconds, 1 to 86400.'),
  characteristic: Characteristic,
  paths: PathPrefixes,
});
const SlidingWindow = z.strictObject({
  algorithm: z.literal('sliding_window'),
  max: PositiveInt(1_000_000, 'requests').describe('Requests allowed per interval.'),
  intervalSeconds: PositiveInt(86_400, 'seconds').describe('Interval in seconds, 1 to 86400.'),
  characteristic: Characteristic,
  paths: PathPrefixes,
});
const TokenBucket = z.strictObject({
  algorithm: z.literal('token_bucket'),
  capacity: PositiveInt(1_000_000, 'tokens').describe('Bucket size: the largest burst allowed.'),
  refillRate: PositiveInt(1_000_000, 'tokens').describe('Tokens added every interval.'),
  intervalSeconds: PositiveInt(86_400, 'seconds').describe('Refill interval in seconds.'),
  characteristic: Characteristic,
  paths: PathPrefixes,
});
export const RateLimitConfig = z.discriminatedUnion(
  'algorithm',
  [FixedWindow, SlidingWindow, TokenBucket],
  {
    error: () => 'algorithm must be one of "fixed_window", "sliding_window", "token_bucket"',
  },
);

export const BotConfig = z
  .strictObject({
    deny: z
      .array(z.enum(BOT_CATEGORIES))
      .default([])
      .describe(`Bot categories to deny: ${BOT_CATEGORIES.join(', ')}.`),
    allow: z
      .array(z.enum(BOT_CATEGORIES))
      .default([])
      .describe(
        'Categories always allowed, even when listed in deny (for example verified search_engine crawlers).',
      ),
    denyEmptyUserAgent: z
      .boolean()
      .default(true)
      .describe('Deny requests with no User-Agent header.'),
  })
  .refine((c) => c.deny.length > 0 || c.denyEmptyUserAgent, {
    message: 'deny at least one category or set denyEmptyUserAgent, or the rule does nothing',
    path: ['deny'],
  });

const Cidr = z.string().refine(
  (v) => {
    const [ip, bits, extra] = v.split('/');
    const family = isIP(ip ?? '');
    if (!family || extra !== undefined) return false;
    if (bits === undefined) return true;
    const n = Number(bits);
    return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
  },
  {
    message:
      'must be an IPv4 or IPv6 address or CIDR range, such as 203.0.113.0/24 or 2001:db8::/32',
  },
);

export const FilterConfig = z.strictObject({
  action: z
    .enum(['deny', 'allow'])
    .describe(
      'deny: deny matching requests. allow: deny every request that does NOT match (an allow-list).',
    ),
  match: z
    .strictObject({
      ips: z.array(Cidr).max(1000).optional().describe('IP addresses or CIDR ranges.'),
      countries: z
        .array(
          z
            .string()
            .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in capitals, such as DE'),
        )
        .max(250)
        .optional(),
      asns: z
        .array(z.number().int().min(1).max(4_294_967_295))
        .max(1000)
        .optional()
        .describe('Autonomous system numbers.'),
      networkTypes: z.array(z.enum(NETWORK_TYPES)).optional(),
      pathPrefixes: z.array(urlPath(512)).max(100).optional(),
      methods: z.array(z.enum(HTTP_METHODS)).optional(),
    })
    .refine((m) => Object.values(m).some((v) => Array.isArray(v) && v.length > 0), {
      message:
        'give at least one non-empty condition: ips, countries, asns, networkTypes, pathPrefixes or methods',
    })
    .describe(
      'A request matches when it meets every condition given; within a list, any entry matches.',
    ),
});

export const EmailConfig = z.strictObject({
  deny: z
    .array(z.enum(EMAIL_CHECKS))
    .min(1)
    .describe(`What to deny in the email the app sends: ${EMAIL_CHECKS.join(', ')}.`),
});

export const RULE_CONFIG_SCHEMAS = {
  shield: ShieldConfig,
  rate_limit: RateLimitConfig,
  bot: BotConfig,
  filter: FilterConfig,
  email: EmailConfig,
} as const satisfies Record<RuleType, z.ZodType>;

const RuleName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .describe('Display name of the rule.');

/** The shape of a rule to create, for errors: a caller who got it wrong needs to see it. */
const RULE_SHAPE =
  'a rule to create is {name, type, config}, its config fields depending on its type, such as {"name": "Block attacks", "type": "shield", "config": {}}; every type\'s config is described in the request schema (/docs; MCP: the create-rule inputSchema)';

const withType = <T extends RuleType>(type: T) =>
  z.strictObject(
    {
      name: RuleName,
      type: z.literal(type),
      config: RULE_CONFIG_SCHEMAS[type],
    },
    {
      // A caller who sends a mode expects to choose it: say why it cannot.
      error: (issue) =>
        issue.code === 'unrecognized_keys' && issue.keys.includes('mode')
          ? 'is not a field of a rule to create (name, type, config): a new rule always starts in DRY_RUN; promote it once measured (POST /v1/rules/{ruleId}/promote, MCP promote-rule)'
          : undefined,
    },
  );

/**
 * zod stops at a missing or unknown `type` (it picks the schema of the rest), so its error
 * names the other fields too, or a caller sending `{}` would learn of them one at a time.
 */
export const CreateRuleInput = z.discriminatedUnion(
  'type',
  [
    withType('shield'),
    withType('rate_limit'),
    withType('bot'),
    withType('filter'),
    withType('email'),
  ],
  {
    error: (issue) =>
      typeof issue.input !== 'object' || issue.input === null || Array.isArray(issue.input)
        ? `${issue.input === undefined ? 'is required' : 'must be an object'}: ${RULE_SHAPE}`
        : `must be one of ${RULE_TYPES.map((t) => `"${t}"`).join(', ')}; ${RULE_SHAPE}`,
  },
);
export type CreateRuleInput = z.infer<typeof CreateRuleInput>;

/** The changeable fields of a rule; at least one must be given. */
export const UpdateRuleFields = z.strictObject(
  {
    name: RuleName.optional(),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("The rule's complete new configuration, validated against the rule's type."),
  },
  {
    // A caller who sends a type is trying to change it, which no update can do: say so.
    error: (issue) =>
      issue.code === 'unrecognized_keys' && issue.keys.includes('type')
        ? "is not a field of an update, which changes name and/or config: a rule's type cannot change; create a new rule of the type you want (POST /v1/sites/{siteId}/rules, MCP create-rule), then delete this one"
        : undefined,
  },
);

/** An update must change something; applied to every schema built on UpdateRuleFields. */
export const requireAChange = <T extends z.ZodObject>(schema: T): T =>
  schema.refine(
    (v: { name?: unknown; config?: unknown }) => v.name !== undefined || v.config !== undefined,
    {
      message: 'give at least one of name or config',
      path: ['name'],
    },
  );

export const UpdateRuleInput = requireAChange(UpdateRuleFields);
export type UpdateRuleInput = z.infer<typeof UpdateRuleInput>;

export const RuleView = z.object({
  id: z.string().describe('Rule id (rule_...).'),
  siteId: z.string(),
  name: z.string(),
  type: z.enum(RULE_TYPES),
  mode: z
    .enum(RULE_MODES)
    .describe('DRY_RUN: evaluated and recorded, never enforced. LIVE: enforced.'),
  config: z.record(z.string(), z.unknown()),
  createdBy: z.string().describe('OAuth subject of who created the rule.'),
  updatedBy: z.string().describe('OAuth subject of who last changed the rule.'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RuleView = z.infer<typeof RuleView>;
export const RulePage = pageSchema(RuleView);

/**
 * The most rules one site may have: every rule runs on every decision, and every decision's
 * results (what an agent reads of it) list them all.
 */
export const MAX_RULES_PER_SITE = 50;
