import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchIntelLookup } from './intel.bench';
import { defaultIntelPaths, INTEL_DATA_FILES, IntelService } from './intel.service';
import type { IntelPaths, IpIntel } from './intel.types';

/**
 * Runs against the shipped data (@ip-location-db 2.3.2026061719, data of 2026-06-17). Every
 * expectation below was read off that data first (asn-ipv4.csv / asn-ipv6.csv and the MMDB).
 */
let intel: IntelService;

beforeAll(() => {
  intel = IntelService.load(defaultIntelPaths());
});

function lookup(ip: string): IpIntel {
  const result = intel.lookup(ip);
  if (result === null) throw new Error(`${ip} was not parsed`);
  return result;
}

describe('IntelService on the shipped data', () => {
  it('knows Google Public DNS', () => {
    expect(lookup('8.8.8.8')).toEqual({
      ip: '8.8.8.8',
      version: 4,
      country: 'US',
      asn: 15169,
      asOrg: 'Google LLC',
      networkType: 'hosting',
      risk: 'medium',
      riskReasons: ['HOSTING_PROVIDER'],
    });
  });

  it('answers IPv4-mapped IPv6 exactly as the IPv4 address', () => {
    expect(lookup('::ffff:8.8.8.8')).toEqual(lookup('8.8.8.8'));
    expect(lookup('::ffff:808:808')).toEqual(lookup('8.8.8.8'));
  });

  it('knows Cloudflare (an organisation name that is quoted in the CSV)', () => {
    expect(lookup('1.1.1.1')).toMatchObject({
      asn: 13335,
      asOrg: 'Cloudflare, Inc.',
      networkType: 'hosting',
    });
  });

  it('classifies AWS as hosting', () => {
    expect(lookup('3.5.140.2')).toMatchObject({
      asn: 16509,
      asOrg: 'Amazon.com, Inc.',
      networkType: 'hosting',
      risk: 'medium',
    });
  });

  it('knows Google over IPv6 and writes the address in RFC 5952 form', () => {
    expect(lookup('2001:4860:4860:0000:0000:0000:0000:8888')).toEqual({
      ip: '2001:4860:4860::8888',
      version: 6,
      country: 'US',
      asn: 15169,
      asOrg: 'Google LLC',
      networkType: 'hosting',
      risk: 'medium',
      riskReasons: ['HOSTING_PROVIDER'],
    });
  });

  it('classifies a Deutsche Telekom access address as residential in Germany', () => {
    expect(lookup('80.128.0.1')).toEqual({
      ip: '80.128.0.1',
      version: 4,
      country: 'DE',
      asn: 3320,
      asOrg: 'Deutsche Telekom AG',
      networkType: 'residential',
      risk: 'low',
      riskReasons: ['RESIDENTIAL_NETWORK'],
    });
  });

  it('classifies dedicated Tor exit operators as tor, high risk', () => {
    // 185.220.101.0/24: Stiftung Erneuerbare Freiheit; 23.129.64.0/24: Emerald Onion.
    expect(lookup('185.220.101.1')).toMatchObject({
      asn: 60729,
      networkType: 'tor',
      risk: 'high',
      riskReasons: ['TOR_OPERATOR_ASN'],
    });
    expect(lookup('23.129.64.130')).toMatchObject({ asn: 396507, networkType: 'tor' });
  });

  it('classifies a VPN provider network as vpn', () => {
    const mullvad = intel.lookup('45.83.220.1');
    // Checked in the CSV: 45.83.220.0/22 is AS39351, 31173 Services AB (Mullvad).
    expect(mullvad).toMatchObject({
      asn: 39351,
      networkType: 'vpn',
      risk: 'medium',
      riskReasons: ['VPN_PROVIDER'],
    });
  });

  it.each(['10.0.0.1', '192.168.1.1', '127.0.0.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1%eth0'])(
    'treats private %s as unknown, with no country even where the MMDB has one',
    (ip) => {
      expect(lookup(ip)).toMatchObject({
        country: null,
        asn: null,
        asOrg: null,
        networkType: 'unknown',
        risk: 'low',
        riskReasons: ['PRIVATE_ADDRESS'],
      });
    },
  );

  it.each(['198.51.100.7', '192.0.2.1', '203.0.113.9', '198.18.0.1', '224.0.0.1', '2001:db8::1'])(
    'labels documentation, benchmarking and multicast %s as reserved, not private',
    (ip) => {
      expect(lookup(ip)).toMatchObject({
        country: null,
        asn: null,
        networkType: 'unknown',
        risk: 'low',
        riskReasons: ['RESERVED_ADDRESS'],
      });
    },
  );

  it('normalises private IPv4-mapped and IPv6 addresses', () => {
    expect(lookup('::ffff:10.1.2.3').ip).toBe('10.1.2.3');
    expect(lookup('FD00:0:0::1').ip).toBe('fd00::1');
  });

  it.each(['garbage', '', '8.8.8', '8.8.8.8:443', '[2001:db8::1]', '1.2.3.4 ', '999.1.1.1'])(
    'returns null for %p',
    (ip) => {
      expect(intel.lookup(ip)).toBeNull();
    },
  );

  describe('range edges (IPv4)', () => {
    // 1.0.0.0-1.0.0.255 AS13335, then nothing until 1.0.4.0-1.0.7.255 AS38803.
    it('covers the first and last address of a range', () => {
      expect(lookup('1.0.0.0').asn).toBe(13335);
      expect(lookup('1.0.0.255').asn).toBe(13335);
      expect(lookup('1.0.4.0').asn).toBe(38803);
      expect(lookup('1.0.7.255').asn).toBe(38803);
    });

    it('finds no ASN in a gap between ranges: unknown network', () => {
      for (const ip of ['1.0.1.0', '1.0.2.77', '1.0.3.255']) {
        expect(lookup(ip)).toMatchObject({
          asn: null,
          asOrg: null,
          networkType: 'unknown',
          riskReasons: ['NO_ASN'],
        });
      }
    });

    it('switches ASN exactly at the boundary of adjacent ranges', () => {
      // 8.8.7.0/24 Level 3, 8.8.8.0/24 Google, 8.8.9.0/24 Hotwire.
      expect(lookup('8.8.7.255').asn).toBe(3356);
      expect(lookup('8.8.8.0').asn).toBe(15169);
      expect(lookup('8.8.8.255').asn).toBe(15169);
      expect(lookup('8.8.9.0').asn).toBe(23089);
    });

    it('handles the first and last row of the file and beyond', () => {
      expect(lookup('1.0.0.0').asn).toBe(13335);
      expect(lookup('223.255.254.255').asn).toBe(55415);
      expect(lookup('223.255.255.0').asn).toBeNull();
    });
  });

  describe('range edges (IPv6)', () => {
    it('covers the first and last address of a range and not the gap after it', () => {
      // 2001:4:112::/48 is AS112 (DNS-OARC); the next row starts at 2001:200::.
      expect(lookup('2001:4:112::').asn).toBe(112);
      expect(lookup('2001:4:112:ffff:ffff:ffff:ffff:ffff').asn).toBe(112);
      expect(lookup('2001:4:113::1').asn).toBeNull();
    });

    it('switches ASN at the boundary of adjacent ranges', () => {
      expect(lookup('2001:4860:4804:ffff:ffff:ffff:ffff:ffff').asn).toBe(15169);
      expect(lookup('2001:4860:4805::').asn).toBe(43515);
      expect(lookup('2001:4860:4806::').asn).toBe(15169);
    });

    it('handles the last row of the file and beyond', () => {
      expect(lookup('2c0f:fff0:ffff:ffff:ffff:ffff:ffff:ffff').asn).toBe(37125);
      expect(lookup('2c0f:fff1::').asn).toBeNull();
    });
  });

  it('describes its data', () => {
    const info = intel.dataInfo;
    expect(info.country.builtAt).toBe('2026-06-17T19:51:40.000Z');
    expect(info.asn).toMatchObject({ dataDate: '2026-06-17' });
    expect(info.asn.ipv4Ranges).toBeGreaterThan(400_000);
    expect(info.asn.ipv6Ranges).toBeGreaterThan(100_000);
    expect(info.asn.organisations).toBeGreaterThan(80_000);
    expect(info.lists.hosting.asns).toBeGreaterThan(50);
    expect(info.lists.vpn.asns).toBeGreaterThan(10);
    expect(info.lists.torAsns.asns).toBeGreaterThanOrEqual(3);
    expect(info.lists.torExits.addresses).toBe(0);
    expect(info.loadMs).toBeGreaterThan(0);
    expect(info.asn.licence).toContain('DB-IP');
    expect(info.country.licence).toContain('NRO');
  });

  it('resolves every shipped data file beside the module', () => {
    const paths = defaultIntelPaths();
    for (const name of INTEL_DATA_FILES) {
      expect(Object.values(paths)).toContain(join(__dirname, 'data', name));
    }
  });

  it('looks up fast enough for the request path (loose bound; see intel.bench.ts)', () => {
    const ips = ['8.8.8.8', '80.128.0.1', '2001:4860:4860::8888', '::ffff:1.1.1.1', '10.0.0.1'];
    const { nsPerLookup, found } = benchIntelLookup(intel, ips, 2000);
    expect(found).toBe(ips.length * 2000);
    expect(nsPerLookup).toBeLessThan(20_000);
  });
});

describe('IntelService with operator-supplied files', () => {
  let dir: string;
  let paths: IntelPaths;

  const list = (asns: { asn: number; name: string }[]): string =>
    JSON.stringify({
      updated: '2026-01-02',
      asns: asns.map((a) => ({ ...a, org: a.name })),
    });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'intel-'));
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    paths = {
      countryMmdb: defaultIntelPaths().countryMmdb,
      // A header, CRLF line ends, quoted names with commas and escaped quotes, dotted bounds,
      // a comment, and rows out of order: all accepted.
      asnIpv4Csv: file(
        'v4.csv',
        [
          'ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization',
          '134744064,134744319,64500,"Example ""Cloud"", Inc."',
          '# 8.8.4.0/24 on purpose listed after 8.8.8.0/24',
          '8.8.4.0,8.8.4.255,64501,Example VPN AB',
          '16843008,16843008,64502,Single Address',
          '16843009,16843009,64502,Single Address',
          '80.128.0.0,80.128.255.255,64503,Example Telecom',
          '',
        ].join('\r\n'),
      ),
      asnIpv6Csv: file(
        'v6.csv',
        [
          '2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,64500,"Example ""Cloud"", Inc."',
          // Narrower than a /64: widened to its whole /64.
          '2a00:1::1:0,2a00:1::1:ffff,64504,Tiny Range',
          // 2a00:2::/32 as 128-bit decimal integers, the format of the -num files.
          '55827575981422791690488571718862372864,55827576060650954204752909312406323199,64505,Decimal Bounds',
          '',
        ].join('\n'),
      ),
      hostingAsns: file('hosting.json', list([{ asn: 64500, name: 'Example "Cloud", Inc.' }])),
      vpnAsns: file('vpn.json', list([{ asn: 64501, name: 'Example VPN AB' }])),
      torAsns: file('tor.json', list([{ asn: 64502, name: 'Single Address' }])),
      torExits: file(
        'exits.txt',
        '# updated: 2026-01-03\n8.8.8.8\n\n2001:4860:4860:0:0:0:0:8888  # an exit\n',
      ),
    };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the replacement files', () => {
    const custom = IntelService.load(paths);
    expect(custom.lookup('8.8.8.8')).toMatchObject({
      country: 'US',
      asn: 64500,
      asOrg: 'Example "Cloud", Inc.',
      networkType: 'tor',
      risk: 'high',
      riskReasons: ['TOR_EXIT_LIST', 'HOSTING_PROVIDER'],
    });
    expect(custom.lookup('8.8.8.9')).toMatchObject({
      networkType: 'hosting',
      riskReasons: ['HOSTING_PROVIDER'],
    });
    expect(custom.lookup('8.8.4.4')).toMatchObject({ asn: 64501, networkType: 'vpn' });
    expect(custom.lookup('1.1.1.0')).toMatchObject({ asn: 64502, networkType: 'tor' });
    expect(custom.lookup('1.1.1.1')).toMatchObject({ asn: 64502, networkType: 'tor' });
    expect(custom.lookup('1.1.1.2')).toMatchObject({ asn: null, networkType: 'unknown' });
    expect(custom.lookup('80.128.0.1')).toMatchObject({ asn: 64503, networkType: 'residential' });
    expect(custom.lookup('2001:4860:4860::8888')).toMatchObject({
      asn: 64500,
      networkType: 'tor',
      riskReasons: ['TOR_EXIT_LIST', 'HOSTING_PROVIDER'],
    });
    expect(custom.lookup('2001:4860:4860::8844')).toMatchObject({ networkType: 'hosting' });
    expect(custom.lookup('2a00:2::1')?.asn).toBe(64505);
    expect(custom.lookup('2a00:2:ffff:ffff:ffff:ffff:ffff:ffff')?.asn).toBe(64505);
    expect(custom.lookup('2a00:3::')?.asn).toBeNull();
  });

  it('widens IPv6 ranges narrower than a /64 to their /64 (documented approximation)', () => {
    const custom = IntelService.load(paths);
    expect(custom.lookup('2a00:1::1:1')?.asn).toBe(64504);
    expect(custom.lookup('2a00:1::ffff:ffff:ffff:ffff')?.asn).toBe(64504);
    expect(custom.lookup('2a00:1:0:1::')?.asn).toBeNull();
  });

  it('merges contiguous rows of one ASN and reports what it loaded', () => {
    const info = IntelService.load(paths).dataInfo;
    expect(info.asn).toMatchObject({
      source: 'operator-supplied CSV',
      licence: null,
      ipv4Ranges: 4,
      ipv6Ranges: 3,
      organisations: 6,
    });
    expect(info.lists.hosting).toEqual({ path: paths.hostingAsns, updated: '2026-01-02', asns: 1 });
    expect(info.lists.torExits).toEqual({
      path: paths.torExits,
      addresses: 2,
      updated: '2026-01-03',
    });
  });

  it('fails naming the file and line of a malformed row', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, '1,2,3,ok\n5,4,3,end before start\n');
    expect(() => IntelService.load({ ...paths, asnIpv4Csv: bad })).toThrow(
      `${bad} line 2: range end before start`,
    );
    writeFileSync(bad, '1,2,x,no asn\n');
    expect(() => IntelService.load({ ...paths, asnIpv4Csv: bad })).toThrow(
      `${bad} line 1: bad ASN`,
    );
  });

  it('fails on a Tor exit list line that is not an address', () => {
    const bad = join(dir, 'bad-exits.txt');
    writeFileSync(bad, '8.8.8.8\n<html>\n');
    expect(() => IntelService.load({ ...paths, torExits: bad })).toThrow(
      `${bad} line 2: not an IP address`,
    );
  });

  it('fails on an ASN list that does not match the schema', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ updated: 'yesterday', asns: [] }));
    expect(() => IntelService.load({ ...paths, vpnAsns: bad })).toThrow(`${bad}: not an ASN list`);
  });

  it('fails on a file that is not a MaxMind DB', () => {
    expect(() => IntelService.load({ ...paths, countryMmdb: paths.torExits })).toThrow(
      `${paths.torExits}: not a MaxMind DB`,
    );
  });
});
