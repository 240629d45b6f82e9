import { SHIELD_ATTACKS, ShieldConfig } from '../rules.schemas';
import {
  collectShieldInputs,
  createShieldWaf,
  decodedForms,
  percentDecode,
  SHIELD_REASONS,
  ShieldDetector,
  ShieldTimeoutError,
  ShieldRule,
  type ShieldAttack,
  type WafContext,
  type WafHandle,
} from './shield';
import {
  SHIELD_SAMPLES,
  sampleRequest,
  shieldSampleStats,
  type ShieldSample,
} from './shield.bench';
import type { RuleVerdict } from './types';

const ALL = new ShieldRule(ShieldConfig.parse({}));

/** The verdict of `rule` on a browser request carrying `value` at `location`. */
const verdict = (
  location: ShieldSample['location'],
  value: string,
  header = 'x-test',
  rule = ALL,
): RuleVerdict =>
  rule.evaluate(
    ...sampleRequest({
      location,
      header: location === 'header' ? header : undefined,
      value,
      expected: 'benign',
    }),
  );

const denied = (reason: RuleVerdict['reason']) => ({ conclusion: 'DENY', reason });
const ALLOW = { conclusion: 'ALLOW', reason: 'NOT_MATCHED' };

describe('ShieldRule', () => {
  describe('detects every attack class in every location', () => {
    // [class, query string, path, header name, header value]
    const cases: [ShieldAttack, string, string, string, string][] = [
      [
        'sql_injection',
        "id=1'+OR+'1'%3D'1",
        '/users/1%20UNION%20SELECT%20password%20FROM%20users--',
        'cookie',
        "uid=1' OR '1'='1",
      ],
      [
        'xss',
        'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
        '/search/%3Csvg%20onload%3Dalert(1)%3E',
        'referer',
        'https://example.com/"><img src=x onerror=alert(1)>',
      ],
      [
        'path_traversal',
        'file=..%2F..%2F..%2Fetc%2Fpasswd',
        '/static/..%2f..%2f..%2fetc/passwd',
        'x-original-url',
        '/../../../etc/passwd',
      ],
      [
        'command_injection',
        'host=127.0.0.1%3Bcat+%2Fetc%2Fpasswd',
        '/ping/127.0.0.1%3Bwhoami',
        'user-agent',
        '() { :; }; /bin/bash -c "id"',
      ],
    ];
    it.each(cases)('%s in query, path and header', (attack, query, path, header, value) => {
      expect(verdict('query', query)).toEqual(denied(SHIELD_REASONS[attack]));
      expect(verdict('path', path)).toEqual(denied(SHIELD_REASONS[attack]));
      expect(verdict('header', value, header)).toEqual(denied(SHIELD_REASONS[attack]));
    });

    it('scanner by user agent and by scanner-only headers', () => {
      expect(verdict('header', 'sqlmap/1.7.2#stable (https://sqlmap.org)', 'user-agent')).toEqual(
        denied('SCANNER'),
      );
      expect(verdict('header', 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)', 'user-agent')).toEqual(
        denied('SCANNER'),
      );
      expect(verdict('header', 'WVS/14.0', 'acunetix-product')).toEqual(denied('SCANNER'));
    });

    it('reads the user agent from the enrichment', () => {
      const [facts, enrichment] = sampleRequest({
        location: 'path',
        value: '/',
        expected: 'benign',
      });
      expect(
        ALL.evaluate(facts, { ...enrichment, userAgent: 'Nuclei - Open-source project' }),
      ).toEqual(denied('SCANNER'));
    });

    it('in cookies one by one, referer query parameters and x-forwarded-for', () => {
      expect(
        verdict('header', 'a=1; b=%3Cscript%3Ealert(1)%3C%2Fscript%3E; c=3', 'cookie'),
      ).toEqual(denied('XSS'));
      expect(
        verdict('header', 'https://shop.example.com/p?id=1+UNION+SELECT+1,2--&x=1', 'referer'),
      ).toEqual(denied('SQL_INJECTION'));
      expect(verdict('header', "127.0.0.1' OR 1=1--", 'x-forwarded-for')).toEqual(
        denied('SQL_INJECTION'),
      );
    });
  });

  describe('allows benign text that looks like an attack to a naive pattern', () => {
    it.each([
      "q=O'Brien",
      'name=Dara+O%27Brien',
      'q=select+a+size',
      'q=drop-down+menu',
      'q=union+station',
      'q=rock+%26+roll',
      'q=Tom+%26+Jerry%3B+cast',
      'msg=%3C3',
      'q=a+%3C+b+and+c+%3E+d',
      'q=SELECT+statements+in+SQL+tutorial',
      'q=what+does+../+mean+in+a+path',
      'q=javascript%3A+the+good+parts',
      'q=%2Fetc%2Fpasswd+file+format',
      'q=pets%3B+cat+food',
      'email=o%27connor%40example.ie',
      'filter=%7B%22status%22%3A%22active%22%7D',
    ])('query %s', (query) => {
      expect(verdict('query', query)).toEqual(ALLOW);
    });

    it.each([
      "/search/O'Brien",
      '/files/report..final.pdf',
      '/compare/v1.0...v2.0',
      '/wiki/C%2B%2B',
    ])('path %s', (path) => {
      expect(verdict('path', path)).toEqual(ALLOW);
    });

    it('the browser request every sample is set into', () => {
      expect(verdict('path', '/')).toEqual(ALLOW);
    });

    it.each([
      ['user-agent', 'curl/8.5.0'],
      ['user-agent', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
      ['cookie', 'cart=%7B%22items%22%3A%5B%7B%22id%22%3A1%7D%5D%7D; name=O%27Brien'],
      ['referer', 'https://www.google.com/search?q=union+station+parking'],
      ['forwarded', 'for=192.0.2.60;proto=http;by=203.0.113.43'],
    ])('header %s: %s', (header, value) => {
      expect(verdict('header', value, header)).toEqual(ALLOW);
    });

    it('does not inspect credentials or fixed-grammar negotiation headers', () => {
      expect(verdict('header', "Basic admin' OR '1'='1", 'authorization')).toEqual(ALLOW);
      expect(verdict('header', '<script>alert(1)</script>', 'accept')).toEqual(ALLOW);
    });
  });

  describe('config', () => {
    it('detects only the classes in detect', () => {
      const xssOnly = new ShieldRule(ShieldConfig.parse({ detect: ['xss'] }));
      expect(verdict('query', "id=1'+OR+'1'%3D'1", undefined, xssOnly)).toEqual(ALLOW);
      expect(verdict('query', 'q=<script>alert(1)</script>', undefined, xssOnly)).toEqual(
        denied('XSS'),
      );
      const scannerOnly = new ShieldRule(ShieldConfig.parse({ detect: ['scanner'] }));
      expect(verdict('query', 'file=../../etc/passwd', undefined, scannerOnly)).toEqual(ALLOW);
      expect(verdict('header', 'sqlmap/1.7', 'user-agent', scannerOnly)).toEqual(denied('SCANNER'));
      expect(verdict('header', 'WVS/14.0', 'acunetix-product', scannerOnly)).toEqual(
        denied('SCANNER'),
      );
      const noScanner = new ShieldRule({
        detect: ['sql_injection', 'xss', 'path_traversal', 'command_injection'],
      });
      expect(verdict('header', 'sqlmap/1.7', 'user-agent', noScanner)).toEqual(ALLOW);
    });

    it('reports the first class in SHIELD_ATTACKS order, whatever the config order', () => {
      const both = 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&id=1%27+OR+%271%27%3D%271';
      const reversed = new ShieldRule({ detect: [...SHIELD_ATTACKS].reverse() });
      expect(verdict('query', both)).toEqual(denied('SQL_INJECTION'));
      expect(verdict('query', both, undefined, reversed)).toEqual(denied('SQL_INJECTION'));
      const xssAndTraversal = new ShieldRule({ detect: ['path_traversal', 'xss'] });
      expect(verdict('query', both, undefined, xssAndTraversal)).toEqual(denied('XSS'));
    });

    it('evaluates synchronously', () => {
      expect(verdict('path', '/')).not.toBeInstanceOf(Promise);
    });
  });

  describe('robustness', () => {
    it.each([
      '%',
      '%%',
      '%zz',
      '%E2%82',
      '%c0',
      '%u12',
      '%ud800',
      '%ED%A0%80',
      '100%+cotton',
      '%%%41',
    ])('malformed percent-encoding %s does not throw', (bad) => {
      expect(() => verdict('query', `q=${bad}&${bad}=x`)).not.toThrow();
      expect(() => verdict('path', `/a/${bad}`)).not.toThrow();
      expect(() => verdict('header', bad, 'cookie')).not.toThrow();
      expect(verdict('query', `q=${bad}`)).toEqual(ALLOW);
    });

    it('handles 64 KB values, finding a payload at the end, in the middle and across chunks', () => {
      const prose = 'lorem ipsum dolor sit amet '.repeat(2500).slice(0, 64 * 1024);
      const encoded = (text: string) => `q=${encodeURIComponent(text)}`;
      expect(verdict('query', encoded(prose))).toEqual(ALLOW);
      expect(verdict('query', encoded(`${prose} ' OR '1'='1`))).toEqual(denied('SQL_INJECTION'));
      expect(verdict('query', encoded(`${prose}<script>alert(1)</script>`))).toEqual(denied('XSS'));
      // Around each chunk boundary (chunks of 4000 characters, 512 of overlap).
      for (const at of [3990, 3500, 7000]) {
        const text = `${prose.slice(0, at)} ' UNION SELECT password FROM users-- ${prose.slice(at)}`;
        expect(verdict('query', encoded(text))).toEqual(denied('SQL_INJECTION'));
      }
      expect(verdict('header', `${'a'.repeat(64 * 1024)};cat /etc/passwd`, 'x-note')).toEqual(
        denied('COMMAND_INJECTION'),
      );
      // The last characters of a value are in the last chunk, whatever its length.
      for (let length = 7480; length <= 7492; length++) {
        expect(verdict('header', `${'a'.repeat(length - 3)};id`, 'x-note')).toEqual(
          denied('COMMAND_INJECTION'),
        );
      }
      // A value-anchored rule must not read a chunk boundary as the start of the value.
      // The second chunk starts at 3488 (4000 - 512), here right at "../etc/passwd".
      const padded = `${'x'.repeat(3488)}../etc/passwd is a file ${'y'.repeat(2000)}`;
      expect(verdict('header', padded, 'x-note')).toEqual(ALLOW);
    });

    it('handles more values than libddwaf takes in one list', () => {
      const query = Array.from({ length: 3000 }, (_, i) => `p${i}=a+b+${i}`).join('&');
      expect(verdict('query', query)).toEqual(ALLOW);
      expect(verdict('query', `${query}&last=1%27+OR+%271%27%3D%271`)).toEqual(
        denied('SQL_INJECTION'),
      );
    });

    it('handles unicode: benign text allowed, payloads among it and look-alikes found', () => {
      expect(verdict('query', 'q=東京+ラーメン+😀+مرحبا+Zoë')).toEqual(ALLOW);
      expect(verdict('query', `q=${encodeURIComponent('東京 '.repeat(30000))}`)).toEqual(ALLOW);
      expect(
        verdict('query', `q=${encodeURIComponent('東京 '.repeat(30000))}%3Bcat+%2Fetc%2Fpasswd`),
      ).toEqual(denied('COMMAND_INJECTION'));
      expect(verdict('query', "q=東京' UNION SELECT password FROM users--")).toEqual(
        denied('SQL_INJECTION'),
      );
      // Fullwidth dots and division slashes (IIS %u escapes) fold to ../
      expect(verdict('query', 'f=%uff0e%uff0e%u2215%uff0e%uff0e%u2215etc%u2215passwd')).toEqual(
        denied('PATH_TRAVERSAL'),
      );
      expect(() => verdict('header', '\ud800 lone surrogate \udfff', 'x-note')).not.toThrow();
    });

    it('disposes every libddwaf context, also when a run fails', () => {
      const real = createShieldWaf();
      const contexts: WafContext[] = [];
      let fail = false;
      const handle: WafHandle = {
        get disposed() {
          return real.disposed;
        },
        dispose: () => real.dispose(),
        createContext: () => {
          const context = real.createContext();
          contexts.push(context);
          return {
            get disposed() {
              return context.disposed;
            },
            dispose: () => context.dispose(),
            run: (payload, timeoutUs) => {
              if (fail) throw new Error('native failure');
              return context.run(payload, timeoutUs);
            },
          };
        },
      };
      const rule = new ShieldRule(ShieldConfig.parse({}), new ShieldDetector(handle));
      try {
        expect(verdict('query', 'q=a+b', undefined, rule)).toEqual(ALLOW);
        expect(verdict('query', "q=1' OR '1'='1", undefined, rule)).toEqual(
          denied('SQL_INJECTION'),
        );
        fail = true;
        expect(() => verdict('query', 'q=a+b', undefined, rule)).toThrow('native failure');
      } finally {
        real.dispose();
      }
      expect(contexts).toHaveLength(3);
      expect(contexts.every((c) => c.disposed)).toBe(true);
    });

    it('repeats a run that timed out (a stalled process), once, in a fresh context', () => {
      const real = createShieldWaf();
      let runs = 0;
      let timeouts = 1;
      const contexts: WafContext[] = [];
      const handle: WafHandle = {
        get disposed() {
          return real.disposed;
        },
        dispose: () => real.dispose(),
        createContext: () => {
          const context = real.createContext();
          contexts.push(context);
          return {
            get disposed() {
              return context.disposed;
            },
            dispose: () => context.dispose(),
            // What libddwaf returns when the budget ran out before any rule matched.
            run: (payload, timeoutUs) => {
              runs++;
              if (timeouts-- > 0) return { timeout: true, events: [] };
              return context.run(payload, timeoutUs);
            },
          };
        },
      };
      const rule = new ShieldRule(ShieldConfig.parse({}), new ShieldDetector(handle));
      try {
        expect(verdict('query', "q=1' OR '1'='1", undefined, rule)).toEqual(
          denied('SQL_INJECTION'),
        );
        expect(runs).toBe(2);
        // Timing out twice is a failure of the rule (the engine fails open with RULE_ERROR),
        // not a clean inspection.
        timeouts = 2;
        runs = 0;
        expect(() => verdict('query', "q=1' OR '1'='1", undefined, rule)).toThrow(
          ShieldTimeoutError,
        );
        expect(runs).toBe(2);
      } finally {
        real.dispose();
      }
      expect(contexts).toHaveLength(4);
      expect(contexts.every((c) => c.disposed)).toBe(true);
    });

    it('shares one detector per process and replaces it once disposed', () => {
      const first = ShieldDetector.shared();
      expect(ShieldDetector.shared()).toBe(first);
      const own = new ShieldDetector();
      own.dispose();
      own.dispose();
      expect(ShieldDetector.shared()).toBe(first);
    });
  });
});

describe('decoding', () => {
  it('decodes percent-encoding and, in queries, + as space', () => {
    expect(percentDecode('a+b%20c', true)).toBe('a b c');
    expect(percentDecode('a+b%20c', false)).toBe('a+b c');
    expect(percentDecode('C%2B%2B', true)).toBe('C++');
    expect(percentDecode('caf%C3%A9', false)).toBe('café');
  });

  it('never throws and leaves what is not an escape', () => {
    expect(percentDecode('100%+cotton', true)).toBe('100% cotton');
    expect(percentDecode('%ZZ%', false)).toBe('%ZZ%');
    expect(percentDecode('%E2%82x', false)).toBe('\ufffdx');
    expect(percentDecode('%41%4', false)).toBe('A%4');
  });

  it('reads overlong UTF-8 and %u escapes as the characters they smuggle', () => {
    expect(percentDecode('%c0%ae%c0%ae%c0%af', false)).toBe('../');
    expect(percentDecode('%e0%80%ae%e0%80%ae%e0%80%af', false)).toBe('../');
    expect(percentDecode('%u002e%U002E', false)).toBe('..');
  });

  it('decodes at most twice and keeps both forms', () => {
    expect(decodedForms('%252e%252e%252f', false)).toEqual(['%2e%2e%2f', '../']);
    expect(decodedForms('%25252e', false)).toEqual(['%252e', '%2e']);
    expect(decodedForms('plain', false)).toEqual(['plain']);
  });

  it('collects names, values, path segments and cookie values, skipping plain tokens', () => {
    const [facts, enrichment] = sampleRequest({
      location: 'query',
      value: 'a=1&b%3Cc=x+y&flag',
      expected: 'benign',
    });
    const inputs = collectShieldInputs({ ...facts, path: '/users/o%27brien/orders' }, enrichment);
    expect(inputs.path).toEqual(["/users/o'brien/orders", "o'brien"]);
    expect(inputs.values).toEqual(
      expect.arrayContaining(['b<c', 'x y', 's:8f2b1c.x9Kq2Lm', 'https://shop.example.com/']),
    );
    expect(inputs.values).not.toContain('1');
    expect(inputs.values.some((v) => v.includes('Chromium'))).toBe(false);
  });
});

describe('sample set (shield-samples.json)', () => {
  it('has at least 150 attacks and 150 benign inputs, every class in it', () => {
    const attacks = SHIELD_SAMPLES.filter((s) => s.expected !== 'benign');
    expect(attacks.length).toBeGreaterThanOrEqual(150);
    expect(SHIELD_SAMPLES.length - attacks.length).toBeGreaterThanOrEqual(150);
    for (const attack of SHIELD_ATTACKS) {
      expect(attacks.filter((s) => s.expected === attack).length).toBeGreaterThanOrEqual(25);
    }
  });

  // Floors just under what was measured (recall 279/280, false positives 6/286): a regression
  // guard, not a claim of perfection. The misses and false positives are listed in the README.
  it('keeps recall and false positives at their measured levels', () => {
    const stats = shieldSampleStats(1);
    expect(stats.recall).toBeGreaterThanOrEqual(0.98);
    expect(stats.fpRate).toBeLessThanOrEqual(0.03);
    for (const { total, detected } of Object.values(stats.perClass)) {
      expect(detected / total).toBeGreaterThanOrEqual(0.95);
    }
    expect(stats.usPerEvaluation).toBeGreaterThan(0);
  });
});
