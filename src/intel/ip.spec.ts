import { isIP } from 'node:net';
import {
  formatIpv4,
  formatIpv6,
  parseIp,
  parseIpv4,
  parseIpv6,
  type ParsedIpv6,
  specialRangeIpv4,
  specialRangeIpv6,
} from './ip';

function v6(text: string): ParsedIpv6 {
  const parsed = parseIpv6(text);
  if (parsed === null) throw new Error(`test address ${text} did not parse`);
  return parsed;
}

describe('parseIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['1.2.3.4', 0x01020304],
    ['255.255.255.255', 0xffffffff],
    ['128.0.0.1', 0x80000001],
  ])('parses %s', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.04',
    '01.2.3.4',
    '1..2.3',
    '1.2.3.',
    '.1.2.3',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4:80',
    '1.2.3.a',
    '1111.2.3.4',
  ])('rejects %p', (text) => {
    expect(parseIpv4(text)).toBe(-1);
  });
});

describe('parseIp', () => {
  it('maps IPv4-mapped IPv6 (dotted or hex) to IPv4', () => {
    expect(parseIp('::ffff:8.8.8.8')).toEqual({ version: 4, v4: 0x08080808 });
    expect(parseIp('::FFFF:0808:0808')).toEqual({ version: 4, v4: 0x08080808 });
    expect(parseIp('0:0:0:0:0:ffff:1.2.3.4')).toEqual({ version: 4, v4: 0x01020304 });
  });

  it('keeps other IPv6 with an IPv4 tail as IPv6', () => {
    expect(parseIp('64:ff9b::1.2.3.4')).toEqual({
      version: 6,
      w0: 0x0064ff9b,
      w1: 0,
      w2: 0,
      w3: 0x01020304,
    });
  });

  it('drops a zone id', () => {
    expect(parseIp('fe80::1%eth0')).toEqual(parseIp('fe80::1'));
  });

  it.each(['', 'garbage', '[::1]', '::1]', 'fe80::1%', '1.2.3.4/24', 'localhost', '::ffff:1.2.3'])(
    'returns null for %p',
    (text) => {
      expect(parseIp(text)).toBeNull();
    },
  );

  // Node's parser is the reference for what counts as an address.
  it.each([
    '::',
    '::1',
    '1::',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::2:3:4:5:6:7:8',
    '1::8',
    '2001:db8::1:0:0:1',
    '::1.2.3.4',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::2',
    '1::2:',
    ':::',
    '12345::1',
    'g::1',
    '1:2:3:4:5:6:7',
    '::ffff:256.1.1.1',
    '1.2.3.4::',
  ])('agrees with net.isIP on %p', (text) => {
    expect(parseIp(text) !== null).toBe(isIP(text) !== 0);
  });
});

describe('formatIpv6', () => {
  it.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['FE80:0:0:0:0:0:0:ABCD', 'fe80::abcd'],
  ])('writes %s as %s (RFC 5952)', (input, canonical) => {
    expect(formatIpv6(v6(input))).toBe(canonical);
  });

  it('matches the WHATWG URL serialiser on random addresses', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let n = 0; n < 2000; n++) {
      // Mostly zero groups, so runs of zeros of every length and position occur.
      const groups = Array.from({ length: 8 }, () =>
        random() % 3 === 0 ? (random() % 65536).toString(16) : '0',
      );
      const text = groups.join(':');
      const reference = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      expect(formatIpv6(v6(text))).toBe(reference);
    }
  });
});

describe('formatIpv4', () => {
  it('round-trips', () => {
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(parseIpv4('80.128.0.1'))).toBe('80.128.0.1');
  });
});

describe('special ranges', () => {
  it.each([
    '10.0.0.1',
    '100.64.0.1',
    '100.127.255.255',
    '127.0.0.1',
    '169.254.1.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
  ])('treats %s as private', (text) => {
    expect(specialRangeIpv4(parseIpv4(text))).toBe('private');
  });

  it.each([
    '0.1.2.3',
    '192.0.0.8',
    '192.0.2.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.1',
    '203.0.113.1',
    '224.0.0.1',
    '239.255.255.255',
    '240.0.0.1',
    '255.255.255.255',
  ])('treats %s as reserved, not private', (text) => {
    expect(specialRangeIpv4(parseIpv4(text))).toBe('reserved');
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.169.0.1',
    '198.20.0.1',
    '223.255.255.255',
  ])('treats %s as public', (text) => {
    expect(specialRangeIpv4(parseIpv4(text))).toBeNull();
  });

  it.each(['::1', 'fc00::1', 'fdff::1', 'fe80::1', 'febf::1', 'fec0::1'])(
    'treats %s as private',
    (text) => {
      expect(specialRangeIpv6(v6(text))).toBe('private');
    },
  );

  it.each(['::', '::2', '::1.2.3.4', '100::1', '2001:db8::1', 'ff02::1'])(
    'treats %s as reserved, not private',
    (text) => {
      expect(specialRangeIpv6(v6(text))).toBe('reserved');
    },
  );

  it.each(['2001:4860:4860::8888', '2a01:4f8::1', '2001:db9::1', 'fbff::1', '100:0:0:1::1'])(
    'treats %s as public',
    (text) => {
      expect(specialRangeIpv6(v6(text))).toBeNull();
    },
  );
});
