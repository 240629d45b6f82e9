import { z } from 'zod';
import { IpAddress } from '../intel/ip-address';
import { DECISION_REASONS } from '../rules/engine/types';
import { RESULT_TYPES, RULE_MODES } from '../rules/rules.schemas';

export const MAX_HEADERS = 100;
export const MAX_HEADER_VALUE = 8 * 1024;
export const MAX_HEADERS_TOTAL = 64 * 1024;

const HeaderName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/**
 * What a protected app sends for each request it wants a decision on. Bounded everywhere: this
 * endpoint takes attacker-shaped data by design.
 */
export const DecideInput = z.strictObject({
  ip: IpAddress.describe(
    'The client IP address as the app saw it (after trusted proxies); stored in one canonical form (::ffff:203.0.113.7 as 203.0.113.7, IPv6 per RFC 5952, no zone id).',
  ),
  method: z
    .string()
    .regex(/^[A-Za-z]{1,16}$/, 'must be an HTTP method such as GET or POST')
    .transform((m) => m.toUpperCase()),
  protocol: z
    .string()
    .max(16)
    .regex(/^[A-Za-z0-9./-]*$/, 'must be a protocol such as HTTP/1.1 or h2')
    .default('HTTP/1.1'),
  host: z.string().max(255, 'must be at most 255 characters'),
  path: z
    .string()
    .min(1)
    .max(8192, 'must be at most 8192 characters')
    .refine((p) => p.startsWith('/') || p === '*', { message: 'must start with /' })
    .describe('The request path without the query string.'),
  query: z
    .string()
    .max(16_384, 'must be at most 16384 characters')
    .default('')
    .transform((q) => (q.startsWith('?') ? q.slice(1) : q))
    .describe('The raw query string, without the leading ?.'),
  headers: z
    .record(
      z
        .string()
        .regex(
          HeaderName,
          "is not a valid header name: a name is 1 to 256 letters, digits or ! # $ % & ' * + - . ^ _ ` | ~ (no spaces, colons or other separators), such as user-agent",
        ),
      z
        .string()
        .max(MAX_HEADER_VALUE, `header values must be at most ${MAX_HEADER_VALUE} characters`),
    )
    .default({})
    .refine((h) => Object.keys(h).length <= MAX_HEADERS, {
      message: `must have at most ${MAX_HEADERS} headers; send the ones that matter (user-agent, referer, cookie, x-forwarded-*)`,
    })
    .refine(
      (h) =>
        Object.entries(h).reduce((n, [k, v]) => n + k.length + v.length, 0) <= MAX_HEADERS_TOTAL,
      { message: `must total at most ${MAX_HEADERS_TOTAL} characters` },
    )
    .transform((h) => {
      const lower: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) lower[k.toLowerCase()] = v;
      return lower;
    })
    .describe('Request headers by name; names are compared case-insensitively.'),
  // An empty address is refused rather than judged: it is no address (the stores keep none as
  // ''), so an email rule's dry-run counts would see a denial with no request it judged.
  email: z
    .string()
    .min(1, 'must not be empty; leave email out when the request carries no address')
    .max(320, 'must be at most 320 characters')
    .optional()
    .describe('An email address submitted with the request (sign-up forms), for email rules.'),
  characteristics: z
    .record(
      z
        .string()
        .regex(
          /^[A-Za-z0-9_.-]{1,64}$/,
          'is not a valid characteristic name: a name is 1 to 64 letters, digits, _ . or -',
        ),
      z.string().max(256, 'values must be at most 256 characters'),
    )
    .default({})
    .refine((c) => Object.keys(c).length <= 20, { message: 'must have at most 20 entries' })
    .describe('Named values that rate-limit rules can count by, such as {"userId": "u_123"}.'),
});
export type DecideInput = z.output<typeof DecideInput>;

export const RuleResultView = z.object({
  ruleId: z
    .string()
    .describe(
      'rule_... for the site’s own rules; sdk_... for rules configured in the app’s Arcjet SDK code.',
    ),
  type: z.enum(RESULT_TYPES),
  mode: z.enum(RULE_MODES),
  conclusion: z.enum(['ALLOW', 'DENY']),
  reason: z.enum(DECISION_REASONS),
});

export const DecideOutput = z.object({
  id: z.string().describe('Decision id (req_...): look it up later with GET /v1/decisions/{id}.'),
  conclusion: z
    .enum(['ALLOW', 'DENY'])
    .describe('DENY only when a LIVE rule denied; DRY_RUN rules never deny.'),
  reason: z.enum(DECISION_REASONS),
  results: z.array(RuleResultView).describe('Every rule evaluated, LIVE and DRY_RUN, in order.'),
  ttl: z
    .number()
    .int()
    .describe(
      'Seconds the app may keep denying this client without asking again; 0 = ask every time.',
    ),
});
export type DecideOutput = z.infer<typeof DecideOutput>;
