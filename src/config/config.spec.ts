import { ConfigError, loadConfig } from './config';

describe(loadConfig.name, () => {
  it('runs embedded with defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      mode: 'embedded',
      baseUrl: 'http://localhost:3000',
      logLevel: 'info',
    });
    expect(config.oauth.audiences).toEqual([
      'http://localhost:3000/mcp',
      'http://localhost:3000/v1',
    ]);
  });

  it('switches to production on DATABASE_URL and requires an encryption key there', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/bulwark' })).toThrow(
      /ENCRYPTION_KEY: required when DATABASE_URL/,
    );
    const config = loadConfig({
      DATABASE_URL: 'postgres://db/bulwark',
      ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    });
    expect(config.mode).toBe('production');
  });

  it.each([
    ['PORT', 'abc', /PORT: expected an integer from 0 to 65535/],
    ['PORT', '70000', /PORT: expected an integer from 0 to 65535/],
    ['BASE_URL', 'bulwark.example.com', /BASE_URL: expected a http: or https: URL/],
    ['BASE_URL', 'https://example.com/bulwark', /BASE_URL: expected an origin without a path/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: expected a postgres: or postgresql: URL/],
    [
      'LOG_LEVEL',
      'loud',
      /LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent/,
    ],
    ['REDIS_URL', 'http://x', /REDIS_URL: expected a redis: or rediss: URL/],
    ['ENCRYPTION_KEY', 'short', /ENCRYPTION_KEY: expected 32 random bytes in base64/],
  ])('names %s and the expected form when it is %j', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(JSON.stringify(value));
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT[\s\S]*LOG_LEVEL/);
  });

  it('accepts on /mcp only the public host, loopback names for a loopback host, and ALLOWED_HOSTS', () => {
    expect(loadConfig({}).allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(loadConfig({ BASE_URL: 'https://bulwark.example.com' }).allowedHosts).toEqual([
      'bulwark.example.com',
    ]);
    expect(
      loadConfig({
        BASE_URL: 'https://bulwark.example.com',
        ALLOWED_HOSTS: 'Bulwark.internal, 10.0.0.5',
      }).allowedHosts,
    ).toEqual(['bulwark.example.com', 'bulwark.internal', '10.0.0.5']);
    expect(() => loadConfig({ ALLOWED_HOSTS: 'http://x.example/' })).toThrow(
      /ALLOWED_HOSTS: expected host names/,
    );
  });

  it('uses the built-in authorization server (issuer BASE_URL) unless OAUTH_ISSUER names a provider, kept verbatim', () => {
    expect(loadConfig({}).oauth).toMatchObject({
      issuer: 'http://localhost:3000',
      external: false,
      resources: ['http://localhost:3000/mcp', 'http://localhost:3000/v1'],
    });
    // Auth0's issuers end in a slash, and issuers compare as exact strings.
    expect(loadConfig({ OAUTH_ISSUER: 'https://tenant.eu.auth0.com/' }).oauth).toMatchObject({
      issuer: 'https://tenant.eu.auth0.com/',
      external: true,
    });
    expect(
      loadConfig({
        OAUTH_EXTRA_RESOURCES: 'https://eu.example.com/mcp, https://us.example.com/mcp',
      }).oauth.resources,
    ).toEqual([
      'http://localhost:3000/mcp',
      'http://localhost:3000/v1',
      'https://eu.example.com/mcp',
      'https://us.example.com/mcp',
    ]);
    expect(() => loadConfig({ OAUTH_EXTRA_RESOURCES: 'eu.example.com' })).toThrow(
      /OAUTH_EXTRA_RESOURCES: expected resource URLs/,
    );
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback', 'loopback'],
    ['10.0.0.0/8, 192.168.1.5', '10.0.0.0/8, 192.168.1.5'],
  ])('reads TRUST_PROXY=%j as express trust proxy %j', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy).toEqual(
      expected,
    );
  });

  it('traces only when an OTLP endpoint is set, unless OTEL_SDK_DISABLED', () => {
    expect(loadConfig({}).tracing).toBeNull();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/' }).tracing).toEqual({
      tracesUrl: 'http://otel:4318/v1/traces',
      serviceName: 'bulwark',
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/in',
        OTEL_SERVICE_NAME: 'edge-bulwark',
      }).tracing,
    ).toEqual({ tracesUrl: 'https://traces.example.com/in', serviceName: 'edge-bulwark' });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_SDK_DISABLED: 'true' })
        .tracing,
    ).toBeNull();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT: expected a http: or https: URL/,
    );
  });

  it('refuses a TRUST_PROXY it cannot read', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(
      /TRUST_PROXY: expected true, false/,
    );
  });
});
