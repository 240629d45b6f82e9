import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const url = (protocols: string[], example: string) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { message: `expected a ${protocols.join(' or ')} URL such as ${example}` },
    );

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Threat-intelligence files an operator can replace with fresher ones (README: Threat intelligence). */
const INTEL_FILES = {
  countryMmdb: 'INTEL_COUNTRY_MMDB',
  asnIpv4Csv: 'INTEL_ASN_IPV4_CSV',
  asnIpv6Csv: 'INTEL_ASN_IPV6_CSV',
  hostingAsns: 'INTEL_HOSTING_ASNS',
  vpnAsns: 'INTEL_VPN_ASNS',
  torAsns: 'INTEL_TOR_ASNS',
  torExits: 'INTEL_TOR_EXITS',
} as const;
export type IntelFile = keyof typeof INTEL_FILES;

function intelPathVariables() {
  const file = optional(
    z
      .string()
      .trim()
      .refine((p) => existsSync(p), { message: 'expected the path of an existing file' }),
  );
  return Object.fromEntries(Object.values(INTEL_FILES).map((name) => [name, file])) as Record<
    (typeof INTEL_FILES)[IntelFile],
    typeof file
  >;
}

/**
 * The environment Bulwark reads, validated once at start-up. Every entry documents the expected
 * form, and a bad value stops the process with a message naming the variable, because a
 * half-configured security service is worse than one that refuses to start.
 */
const EnvSchema = z.object({
  PORT: z.coerce
    .number({ message: 'expected an integer from 0 to 65535, such as 3000' })
    .int('expected an integer from 0 to 65535, such as 3000')
    .min(0, 'expected an integer from 0 to 65535, such as 3000')
    .max(65535, 'expected an integer from 0 to 65535, such as 3000')
    .default(3000),
  ARCJET_PORT: optional(
    z
      .string()
      .trim()
      .regex(
        /^(off|\d{1,5})$/,
        'expected a port from 0 to 65535 for the Arcjet-compatible decide service, or off',
      )
      .refine((v) => v === 'off' || Number(v) <= 65535, {
        message: 'expected a port from 0 to 65535, or off',
      }),
  ),
  ARCJET_TLS_PORT: optional(
    z.coerce
      .number({ message: 'expected an integer from 0 to 65535, such as 3443' })
      .int('expected an integer from 0 to 65535, such as 3443')
      .min(0, 'expected an integer from 0 to 65535, such as 3443')
      .max(65535, 'expected an integer from 0 to 65535, such as 3443'),
  ),
  ARCJET_TLS_CERT: optional(
    z
      .string()
      .trim()
      .refine((p) => existsSync(p), { message: 'expected the path of a PEM certificate (chain)' }),
  ),
  ARCJET_TLS_KEY: optional(
    z
      .string()
      .trim()
      .refine((p) => existsSync(p), { message: 'expected the path of a PEM private key' }),
  ),
  HOST: z
    .string()
    .trim()
    .min(1, 'expected an interface address such as 127.0.0.1 or 0.0.0.0')
    .default('127.0.0.1'),
  BASE_URL: optional(url(['http:', 'https:'], 'https://bulwark.example.com')),
  DATA_DIR: z.string().trim().min(1, 'expected a directory path such as ./data').default('./data'),
  DATABASE_URL: optional(
    url(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/bulwark'),
  ),
  CLICKHOUSE_URL: optional(url(['http:', 'https:'], 'http://default:@127.0.0.1:8123/bulwark')),
  OAUTH_ISSUER: optional(url(['http:', 'https:'], 'https://your-tenant.authkit.app')),
  OAUTH_JWKS_URL: optional(url(['http:', 'https:'], 'https://your-tenant.authkit.app/oauth2/jwks')),
  OAUTH_AUDIENCE: optional(
    z
      .string()
      .trim()
      .min(
        1,
        'expected one or more audiences separated by commas, such as https://bulwark.example.com/mcp',
      ),
  ),
  OAUTH_EXTRA_RESOURCES: optional(
    z
      .string()
      .trim()
      .refine(
        (v) =>
          v.split(',').every((r) => {
            try {
              return ['http:', 'https:'].includes(new URL(r.trim()).protocol);
            } catch {
              return false;
            }
          }),
        {
          message:
            'expected resource URLs separated by commas, such as https://bulwark-eu.example.com/mcp',
        },
      ),
  ),
  TRUST_PROXY: optional(
    z
      .string()
      .trim()
      .regex(
        /^(true|false|loopback|linklocal|uniquelocal|\d+|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/,
        'expected true, false, a hop count such as 1, loopback, or proxy addresses/CIDRs separated by commas',
      ),
  ),
  ALLOWED_HOSTS: optional(
    z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9.\-[\]:]+(\s*,\s*[A-Za-z0-9.\-[\]:]+)*$/,
        'expected host names separated by commas, such as bulwark.internal,10.0.0.5',
      ),
  ),
  REDIS_URL: optional(url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379')),
  // OpenTelemetry's standard variables; tracing is on when either endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url(['http:', 'https:'], 'http://127.0.0.1:4318')),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(
    url(['http:', 'https:'], 'http://127.0.0.1:4318/v1/traces'),
  ),
  OTEL_SERVICE_NAME: optional(z.string().trim().max(200)),
  OTEL_SDK_DISABLED: optional(z.enum(['true', 'false'], { message: 'expected true or false' })),
  ...intelPathVariables(),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  ENCRYPTION_KEY: optional(
    z
      .string()
      .trim()
      .refine((v) => Buffer.from(v, 'base64').length === 32, {
        message:
          'expected 32 random bytes in base64, for example the output of `openssl rand -base64 32`',
      }),
  ),
});

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  port: number;
  host: string;
  /** Public origin of this server, without a trailing slash; the resource identifiers derive from it. */
  baseUrl: string;
  dataDir: string;
  /**
   * Host names (no port) that /mcp accepts in Host and Origin headers, against DNS rebinding:
   * BASE_URL's host, the loopback names when that host is loopback, and ALLOWED_HOSTS.
   */
  allowedHosts: string[];
  /** `embedded` when no DATABASE_URL is given: PGlite under DATA_DIR. */
  mode: 'embedded' | 'production';
  databaseUrl?: string;
  clickhouseUrl?: string;
  redisUrl?: string;
  logLevel: LogLevel;
  /**
   * OpenTelemetry tracing over OTLP/HTTP (JSON): where spans go and the service they name; null
   * when off (no OTLP endpoint set, or OTEL_SDK_DISABLED=true). Off, nothing of the SDK loads.
   */
  tracing: { tracesUrl: string; serviceName: string } | null;
  /** Replacement threat-intelligence files; the shipped data for the ones not given. */
  intelFiles: Partial<Record<IntelFile, string>>;
  /** Base64 key that encrypts site keys at rest; generated into DATA_DIR in embedded mode. */
  encryptionKey?: string;
  /**
   * Which proxies to believe for the client address and protocol (express's `trust proxy`):
   * per-IP rate limits and cookie security depend on it. Off unless TRUST_PROXY is set.
   */
  trustProxy: boolean | number | string;
  /**
   * The Arcjet-SDK-compatible decide service (ConnectRPC over HTTP/2), on ports of its own:
   * `port` speaks h2c (cleartext HTTP/2 only, what the SDK's http:// base URLs expect); `tls`
   * speaks HTTP/2 and HTTP/1.1 behind ALPN. null when off.
   */
  arcjet: {
    port: number | null;
    tls: { port: number; certFile: string; keyFile: string } | null;
  };
  oauth: {
    /**
     * Issuer whose access tokens are accepted: OAUTH_ISSUER, or BASE_URL itself for the built-in
     * authorization server (mounted at `<BASE_URL>/oauth`, with BASE_URL as its issuer so that
     * the `iss` of its authorization responses matches the discovery document, RFC 9207).
     */
    issuer: string;
    external: boolean;
    /** Resources the built-in server mints tokens for: its own, plus OAUTH_EXTRA_RESOURCES. */
    resources: string[];
    jwksUrl?: string;
    /** Audiences a token must carry one of: this server's resource identifiers. */
    audiences: string[];
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const got = env[name];
        return `${name}: ${issue.message.replace(/^Invalid input: /, '')}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
      }),
    );
  }
  const e = parsed.data;
  const baseUrl = (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const problems: string[] = [];
  if (new URL(baseUrl).pathname !== '/' || new URL(baseUrl).search) {
    problems.push(
      `BASE_URL: expected an origin without a path, such as https://bulwark.example.com (got ${JSON.stringify(e.BASE_URL)})`,
    );
  }
  if (e.DATABASE_URL && !e.ENCRYPTION_KEY) {
    problems.push(
      'ENCRYPTION_KEY: required when DATABASE_URL is set, so every instance can read site keys; expected 32 random bytes in base64 (`openssl rand -base64 32`)',
    );
  }
  const tlsParts = [e.ARCJET_TLS_PORT, e.ARCJET_TLS_CERT, e.ARCJET_TLS_KEY];
  if (tlsParts.some((v) => v !== undefined) && tlsParts.some((v) => v === undefined)) {
    problems.push(
      'ARCJET_TLS_PORT, ARCJET_TLS_CERT, ARCJET_TLS_KEY: set all three to serve the Arcjet-compatible decide service over TLS, or none',
    );
  }
  if (problems.length) throw new ConfigError(problems);
  const mode = e.DATABASE_URL ? 'production' : 'embedded';
  return {
    port: e.PORT,
    host: e.HOST,
    baseUrl,
    // `memory://` keeps everything in memory: for tests and throw-away demos.
    allowedHosts: allowedHosts(baseUrl, e.ALLOWED_HOSTS),
    dataDir: e.DATA_DIR === 'memory://' ? e.DATA_DIR : resolve(e.DATA_DIR),
    mode,
    databaseUrl: e.DATABASE_URL,
    clickhouseUrl: e.CLICKHOUSE_URL,
    redisUrl: e.REDIS_URL,
    tracing: tracing(e),
    logLevel: e.LOG_LEVEL,
    intelFiles: Object.fromEntries(
      Object.entries(INTEL_FILES)
        .map(([key, name]) => [key, e[name]])
        .filter(([, path]) => path !== undefined),
    ) as AppConfig['intelFiles'],
    encryptionKey: e.ENCRYPTION_KEY,
    trustProxy: trustProxy(e.TRUST_PROXY),
    arcjet: {
      port: arcjetPort(e.ARCJET_PORT, e.PORT, mode),
      tls:
        e.ARCJET_TLS_PORT !== undefined && e.ARCJET_TLS_CERT && e.ARCJET_TLS_KEY
          ? { port: e.ARCJET_TLS_PORT, certFile: e.ARCJET_TLS_CERT, keyFile: e.ARCJET_TLS_KEY }
          : null,
    },
    oauth: {
      // Kept exactly as given: issuers compare as strings (RFC 8414 §3.3), and some end in a
      // slash (Auth0's do).
      issuer: e.OAUTH_ISSUER ?? baseUrl,
      external: e.OAUTH_ISSUER !== undefined,
      resources: [
        `${baseUrl}/mcp`,
        `${baseUrl}/v1`,
        ...(e.OAUTH_EXTRA_RESOURCES?.split(',').map((r) => r.trim()) ?? []),
      ],
      jwksUrl: e.OAUTH_JWKS_URL,
      audiences: e.OAUTH_AUDIENCE
        ? e.OAUTH_AUDIENCE.split(',')
            .map((a) => a.trim())
            .filter(Boolean)
        : [`${baseUrl}/mcp`, `${baseUrl}/v1`],
    },
  };
}

/**
 * The h2c port of the Arcjet-compatible decide service: as configured, or by default PORT + 1 in
 * embedded mode (an ephemeral port when PORT is 0, as in tests) and off in production, where an
 * operator opens ports deliberately.
 */
function arcjetPort(
  value: string | undefined,
  port: number,
  mode: AppConfig['mode'],
): number | null {
  if (value === 'off') return null;
  if (value !== undefined) return Number(value);
  if (mode === 'production') return null;
  return port === 0 ? 0 : port + 1;
}

/** Where the built-in authorization server is mounted; its issuer is BASE_URL. */
export const BUILT_IN_ISSUER_PATH = '/oauth';

/** The OTLP traces URL: the traces endpoint as given, or `/v1/traces` under the general one. */
function tracing(e: z.output<typeof EnvSchema>): AppConfig['tracing'] {
  if (e.OTEL_SDK_DISABLED === 'true') return null;
  const tracesUrl =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? undefined
      : `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  return tracesUrl === undefined
    ? null
    : { tracesUrl, serviceName: e.OTEL_SERVICE_NAME ?? 'bulwark' };
}

function trustProxy(value: string | undefined): AppConfig['trustProxy'] {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

function allowedHosts(baseUrl: string, extra: string | undefined): string[] {
  const own = new URL(baseUrl).hostname;
  const hosts = new Set([own, ...(LOOPBACK.includes(own) ? LOOPBACK : [])]);
  for (const host of extra?.split(',') ?? []) {
    if (host.trim()) hosts.add(host.trim().toLowerCase());
  }
  return [...hosts];
}
