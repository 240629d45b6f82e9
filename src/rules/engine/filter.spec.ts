import { FilterConfig } from '../rules.schemas';
import { FilterRule } from './filter';
import { enrichment, facts } from './fixtures';

const rule = (config: unknown) => new FilterRule(FilterConfig.parse(config));
const DENIED = { conclusion: 'DENY', reason: 'FILTER_DENIED' };
const NOT_ALLOWED = { conclusion: 'DENY', reason: 'FILTER_NOT_ALLOWED' };
const ALLOWED = { conclusion: 'ALLOW', reason: 'NOT_MATCHED' };

describe('FilterRule', () => {
  it('matches IPv4 and IPv6 addresses and CIDR ranges, including the edges', () => {
    const r = rule({
      action: 'deny',
      match: { ips: ['198.51.100.0/24', '2001:db8::/32', '192.0.2.9'] },
    });
    expect(r.evaluate(facts({ ip: '198.51.100.0' }), enrichment())).toEqual(DENIED);
    expect(r.evaluate(facts({ ip: '198.51.100.255' }), enrichment())).toEqual(DENIED);
    expect(r.evaluate(facts({ ip: '198.51.101.0' }), enrichment())).toEqual(ALLOWED);
    expect(r.evaluate(facts({ ip: '2001:db8:ffff::1' }), enrichment())).toEqual(DENIED);
    expect(r.evaluate(facts({ ip: '2001:db9::1' }), enrichment())).toEqual(ALLOWED);
    expect(r.evaluate(facts({ ip: '192.0.2.9' }), enrichment())).toEqual(DENIED);
    expect(r.evaluate(facts({ ip: '192.0.2.10' }), enrichment())).toEqual(ALLOWED);
  });

  it('matches country, ASN and network type from the enrichment', () => {
    const r = rule({ action: 'deny', match: { countries: ['KP', 'RU'], networkTypes: ['tor'] } });
    expect(r.evaluate(facts(), enrichment({ country: 'RU', networkType: 'tor' }))).toEqual(DENIED);
    // Every condition given must hold.
    expect(r.evaluate(facts(), enrichment({ country: 'RU', networkType: 'residential' }))).toEqual(
      ALLOWED,
    );
    // Unknown country never matches a country list.
    expect(r.evaluate(facts(), enrichment({ country: null, networkType: 'tor' }))).toEqual(ALLOWED);
    const byAsn = rule({ action: 'deny', match: { asns: [14061] } });
    expect(byAsn.evaluate(facts(), enrichment({ asn: 14061 }))).toEqual(DENIED);
    expect(byAsn.evaluate(facts(), enrichment({ asn: null }))).toEqual(ALLOWED);
  });

  it('matches path prefixes and methods', () => {
    const r = rule({
      action: 'deny',
      match: { pathPrefixes: ['/admin', '/wp-'], methods: ['POST'] },
    });
    expect(r.evaluate(facts({ method: 'POST', path: '/admin/users' }), enrichment())).toEqual(
      DENIED,
    );
    expect(r.evaluate(facts({ method: 'POST', path: '/wp-login.php' }), enrichment())).toEqual(
      DENIED,
    );
    expect(r.evaluate(facts({ method: 'GET', path: '/admin' }), enrichment())).toEqual(ALLOWED);
    expect(r.evaluate(facts({ method: 'POST', path: '/shop/admin' }), enrichment())).toEqual(
      ALLOWED,
    );
  });

  it('allow action denies everything that does not match', () => {
    const r = rule({ action: 'allow', match: { countries: ['DE', 'AT', 'CH'] } });
    expect(r.evaluate(facts(), enrichment({ country: 'AT' }))).toEqual(ALLOWED);
    expect(r.evaluate(facts(), enrichment({ country: 'US' }))).toEqual(NOT_ALLOWED);
    expect(r.evaluate(facts(), enrichment({ country: null }))).toEqual(NOT_ALLOWED);
  });
});
