import type { Enrichment, RequestFacts } from './types';

/** Request facts for engine tests: a plain browser GET unless overridden. */
export function facts(overrides: Partial<RequestFacts> = {}): RequestFacts {
  return {
    ip: '203.0.113.7',
    method: 'GET',
    protocol: 'HTTP/1.1',
    host: 'shop.example.com',
    path: '/products',
    query: '',
    headers: {},
    characteristics: {},
    ...overrides,
  };
}

export function enrichment(overrides: Partial<Enrichment> = {}): Enrichment {
  return {
    country: 'DE',
    asn: 3320,
    asOrg: 'Deutsche Telekom AG',
    networkType: 'residential',
    botCategory: null,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
    ...overrides,
  };
}
