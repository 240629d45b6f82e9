import { typeid } from 'typeid-js';
import type { DecisionRecord } from '../../src/analytics/analytics.port';

/** A decision record with sensible defaults; tests override what they look at. */
export function decision(overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    id: typeid('req').toString(),
    siteId: 'site_01jdefaultsite0000000000000',
    teamId: 'team_01jdefaultteam0000000000000',
    timeMs: Date.UTC(2026, 10, 20, 12, 0, 0),
    ip: '203.0.113.7',
    method: 'GET',
    protocol: 'HTTP/1.1',
    host: 'shop.example.com',
    path: '/products',
    query: 'page=2',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    headers: { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
    email: null,
    country: 'DE',
    asn: 3320,
    asOrg: 'Deutsche Telekom AG',
    networkType: 'residential',
    botCategory: null,
    conclusion: 'ALLOW',
    reason: 'NO_RULE_DENIED',
    ruleId: null,
    results: [],
    dryRunDenials: [],
    ...overrides,
  };
}
