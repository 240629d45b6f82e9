import { create } from '@bufbuild/protobuf';
import {
  Mode,
  RateLimitAlgorithm,
  RuleSchema,
  type Rule,
} from '@arcjet/protocol/proto/decide/v1alpha1/decide_pb.js';
import * as hasher from '@arcjet/stable-hash';
import { facts } from '../rules/engine/fixtures';
import { CounterStore } from '../rules/engine/rate-limit';
import { SdkAnalyzer } from './sdk-analyzer';
import { characteristicsKey, SdkRules } from './sdk-rules';

const request = {
  analyze: {
    ip: '80.128.0.1',
    method: 'GET',
    protocol: 'http:',
    host: 'shop.example.com',
    path: '/',
    headers: {},
    cookies: '',
    query: '',
    extra: {},
  },
  characteristics: ['ip.src'],
  intel: null,
};

const rule = (init: object): Rule => create(RuleSchema as never, init as never);

describe('characteristicsKey', () => {
  const f = facts({
    ip: '198.51.100.7',
    query: 'page=2&tenant=acme',
    headers: { 'x-api-key': 'k1', cookie: 'session=abc; theme=dark' },
    characteristics: { userId: 'u_1' },
  });

  it('reads the SDK’s characteristic forms from the request', () => {
    expect(characteristicsKey(['ip.src'], f)).toBe('198.51.100.7');
    expect(characteristicsKey(['http.request.headers["X-Api-Key"]'], f)).toBe('k1');
    expect(characteristicsKey(['http.request.cookie["theme"]'], f)).toBe('dark');
    expect(characteristicsKey(['http.request.uri.args["tenant"]'], f)).toBe('acme');
    expect(characteristicsKey(['userId'], f)).toBe('u_1');
    expect(characteristicsKey(['userId', 'ip.src'], f)).toBe('["u_1","198.51.100.7"]');
  });

  it('has no key when a characteristic is missing (nothing is counted)', () => {
    expect(characteristicsKey(['userId', 'http.request.cookie["nope"]'], f)).toBeUndefined();
    expect(characteristicsKey(['orgId'], f)).toBeUndefined();
  });
});

describe('SdkRules', () => {
  const rules = () => new SdkRules(new CounterStore(), new SdkAnalyzer(), Date.now);

  it('computes the SDK’s own rule id for a rate limit (the id its cache is keyed by)', async () => {
    const [compiled] = await rules().compile(
      'site_a',
      [
        rule({
          rule: {
            case: 'rateLimit',
            value: {
              mode: Mode.LIVE,
              algorithm: RateLimitAlgorithm.FIXED_WINDOW,
              max: 5,
              windowInSeconds: 60,
              characteristics: ['userId'],
            },
          },
        }),
      ],
      request,
    );
    // What @arcjet/node's fixedWindow() hashes: type, version, mode, algorithm,
    // characteristics, match, max, window.
    const expected = await hasher.hash(
      hasher.string('type', 'RATE_LIMIT'),
      hasher.uint32('version', 0),
      hasher.string('mode', 'LIVE'),
      hasher.string('algorithm', 'FIXED_WINDOW'),
      hasher.stringSliceOrdered('characteristics', ['userId']),
      hasher.string('match', ''),
      hasher.uint32('max', 5),
      hasher.uint32('window', 60),
    );
    expect(compiled).toMatchObject({
      type: 'rate_limit',
      mode: 'LIVE',
      sdkId: expected,
      rateLimit: { max: 5, windowSeconds: 60 },
    });
    expect(compiled.compiled?.id).toBe(`sdk_${expected}`);
  });

  it('answers NOT_RUN for what runs in the SDK and for limits no limiter can honour', async () => {
    const compiled = await rules().compile(
      'site_a',
      [
        rule({ rule: { case: 'botV2', value: { mode: Mode.LIVE, deny: ['CURL'] } } }),
        rule({ rule: { case: 'sensitiveInfo', value: { mode: Mode.LIVE } } }),
        rule({ rule: { case: 'promptInjectionDetection', value: { mode: Mode.LIVE } } }),
        rule({ rule: { case: 'rateLimit', value: { mode: Mode.LIVE, max: 0 } } }),
        rule({ rule: { case: 'email', value: { mode: Mode.LIVE, deny: [3] } } }),
      ],
      request,
    );
    expect(compiled.map((r) => [r.type, r.compiled])).toEqual([
      ['bot', null],
      ['sensitive_info', null],
      ['prompt_injection', null],
      ['rate_limit', null],
      // NO_MX_RECORDS alone: nothing Bulwark can check.
      ['email', null],
    ]);
  });

  it('treats an unspecified mode as DRY_RUN, which can never deny', async () => {
    const [shield] = await rules().compile(
      'site_a',
      [rule({ rule: { case: 'shield', value: {} } })],
      request,
    );
    expect(shield.mode).toBe('DRY_RUN');
  });

  it('keeps one compiled rate limit (and its counters) per site and configuration', async () => {
    const sdk = rules();
    const limit = rule({
      rule: {
        case: 'rateLimit',
        value: { mode: Mode.LIVE, max: 1, windowInSeconds: 60 },
      },
    });
    const [a1] = await sdk.compile('site_a', [limit], request);
    const [a2] = await sdk.compile('site_a', [limit], request);
    const [b] = await sdk.compile('site_b', [limit], request);
    expect(a2.compiled).toBe(a1.compiled);
    expect(b.compiled).not.toBe(a1.compiled);
    const ev = (r: typeof a1) => r.compiled!.evaluator.evaluate(facts(), {} as never);
    expect(await ev(a1)).toMatchObject({ conclusion: 'ALLOW' });
    expect(await ev(a2)).toMatchObject({ conclusion: 'DENY' });
    // Another site's app with the same rule has its own counters.
    expect(await ev(b)).toMatchObject({ conclusion: 'ALLOW' });
  });
});
