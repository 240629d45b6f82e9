import { DecisionRecord } from '../analytics/analytics.port';
import { toDecisionView } from './decisions.service';

const record: DecisionRecord = {
  id: 'req_01jz0000000000000000000000',
  siteId: 'site_01jz0000000000000000000000',
  teamId: 'team_01jz0000000000000000000000',
  timeMs: Date.UTC(2026, 10, 24),
  ip: '203.0.113.7',
  method: 'GET',
  protocol: 'HTTP/1.1',
  host: 'shop.example.com',
  path: '/products',
  query: '',
  userAgent: 'curl/8.11.1',
  // As decide stores them: the user agent is among the kept headers too.
  headers: { 'user-agent': 'curl/8.11.1', referer: 'https://example.com/' },
  email: null,
  country: null,
  asn: null,
  asOrg: null,
  networkType: 'unknown',
  botCategory: 'http_client',
  conclusion: 'ALLOW',
  reason: 'NO_RULE_DENIED',
  ruleId: null,
  results: [],
  dryRunDenials: [],
};

describe(toDecisionView.name, () => {
  it('shows the user agent once, as userAgent, and keeps the other headers', () => {
    expect(toDecisionView(record).requestData).toMatchObject({
      userAgent: 'curl/8.11.1',
      headers: { referer: 'https://example.com/' },
    });
    expect(toDecisionView(record).requestData.headers).not.toHaveProperty('user-agent');
  });

  it('bounds every header it shows', () => {
    const view = toDecisionView(record, (s) => s.slice(0, 4));
    expect(view.requestData).toMatchObject({ userAgent: 'curl', headers: { referer: 'http' } });
  });
});
