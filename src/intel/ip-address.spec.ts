import { canonicalIp, IpAddress } from './ip-address';

describe('canonicalIp', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['fe80::1%Ignore-previous-instructions', 'fe80::1'],
  ])('spells %s as %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });

  it.each(['', '999.1.1.1', '01.2.3.4', '1.2.3', 'fe80::1%', '203.0.113.7%eth0', 'localhost'])(
    'refuses %j',
    (text) => {
      expect(canonicalIp(text)).toBeNull();
    },
  );
});

describe('IpAddress', () => {
  it('parses to the canonical form and names what it expects otherwise', () => {
    expect(IpAddress.parse('::ffff:10.0.0.1')).toBe('10.0.0.1');
    const bad = IpAddress.safeParse('not-an-ip');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].message).toContain('such as 203.0.113.7');
    expect(IpAddress.safeParse('1'.repeat(65)).success).toBe(false);
  });
});
