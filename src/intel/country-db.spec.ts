import { readFileSync } from 'node:fs';
import { Reader, type CountryResponse } from 'maxmind';
import { CountryDb } from './country-db';
import { defaultIntelPaths } from './intel.service';
import { formatIpv4, formatIpv6, parseIpv6 } from './ip';

/** CountryDb walks the MMDB tree itself; it must agree with maxmind's Reader everywhere. */
describe('CountryDb', () => {
  const path = defaultIntelPaths().countryMmdb;
  const db = new CountryDb(path);
  const reader = new Reader<CountryResponse & { country_code?: string }>(readFileSync(path));
  let seed = 1;
  const random32 = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return ((seed << 1) ^ (seed >>> 7)) >>> 0;
  };

  it('agrees with maxmind on 20,000 random IPv4 addresses', () => {
    for (let n = 0; n < 20_000; n++) {
      const v4 = random32();
      const expected = reader.get(formatIpv4(v4))?.country_code ?? null;
      expect(db.countryOfIpv4(v4)).toBe(expected);
    }
  });

  it('agrees with maxmind on 20,000 random global-unicast IPv6 addresses', () => {
    for (let n = 0; n < 20_000; n++) {
      // 2000::/3, where nearly all assigned IPv6 space is.
      const ip = {
        version: 6 as const,
        w0: ((random32() & 0x1fffffff) | 0x20000000) >>> 0,
        w1: random32(),
        w2: random32(),
        w3: random32(),
      };
      const expected = reader.get(formatIpv6(ip))?.country_code ?? null;
      expect(db.countryOfIpv6(ip)).toBe(expected);
    }
  });

  it('knows well-known addresses', () => {
    expect(db.countryOfIpv4(0x08080808)).toBe('US');
    const google = parseIpv6('2001:4860:4860::8888');
    expect(google && db.countryOfIpv6(google)).toBe('US');
  });

  it('rejects a file that is not a MaxMind DB', () => {
    const notMmdb = defaultIntelPaths().hostingAsns;
    expect(() => new CountryDb(notMmdb)).toThrow(`${notMmdb}: not a MaxMind DB`);
  });
});
