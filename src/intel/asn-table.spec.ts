import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnTable, NOT_FOUND } from './asn-table';
import { parseIpv6 } from './ip';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'asn-table-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tableOf(v4Rows: string[], v6Rows: string[] = []): AsnTable {
  const v4 = join(dir, 'v4.csv');
  const v6 = join(dir, 'v6.csv');
  writeFileSync(v4, v4Rows.join('\n'));
  writeFileSync(v6, v6Rows.join('\n'));
  return AsnTable.load(v4, v6);
}

function asnAt(table: AsnTable, v4: number): number | null {
  const row = table.findIpv4(v4);
  return row === NOT_FOUND ? null : table.asnV4(row);
}

describe('AsnTable overlapping rows', () => {
  it('lets a nested range win inside and the outer range resume after it', () => {
    const table = tableOf(['100,199,1,Outer', '120,129,2,Inner', '150,150,3,Single']);
    expect(asnAt(table, 99)).toBeNull();
    expect(asnAt(table, 100)).toBe(1);
    expect(asnAt(table, 119)).toBe(1);
    expect(asnAt(table, 120)).toBe(2);
    expect(asnAt(table, 129)).toBe(2);
    expect(asnAt(table, 130)).toBe(1);
    expect(asnAt(table, 149)).toBe(1);
    expect(asnAt(table, 150)).toBe(3);
    expect(asnAt(table, 151)).toBe(1);
    expect(asnAt(table, 199)).toBe(1);
    expect(asnAt(table, 200)).toBeNull();
    expect(table.stats.ipv4Ranges).toBe(5);
  });

  it('gives a partial overlap to the later-starting range', () => {
    // The shape of the one overlap in the shipped data (two DoD ranges).
    const table = tableOf(['100,199,1,A', '150,249,2,B']);
    expect(asnAt(table, 149)).toBe(1);
    expect(asnAt(table, 150)).toBe(2);
    expect(asnAt(table, 249)).toBe(2);
  });

  it('matches a brute-force reference on random overlapping rows', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const rows: [number, number, number][] = [];
      for (let i = 0; i < 30; i++) {
        const start = random(1000);
        rows.push([start, start + random(i % 5 === 0 ? 400 : 20), i + 1]);
      }
      const table = tableOf(rows.map(([s, e, a]) => `${s},${e},${a},Org ${a}`));
      // Reference: the covering row with the latest start, on a tie the later line.
      const order = rows.map((r, i) => ({ r, i })).sort((x, y) => x.r[0] - y.r[0] || x.i - y.i);
      for (let address = 0; address < 1500; address++) {
        let expected: number | null = null;
        for (const { r } of order) if (r[0] <= address && r[1] >= address) expected = r[2];
        expect(asnAt(table, address)).toBe(expected);
      }
    }
  });

  it('resolves IPv6 overlaps too', () => {
    const table = tableOf(
      [],
      ['2001:db8::,2001:db8:ffff::,1,Outer', '2001:db8:1::,2001:db8:1:ffff::,2,Inner'],
    );
    const find = (text: string): number | null => {
      const ip = parseIpv6(text);
      if (ip === null) throw new Error(text);
      const row = table.findIpv6(ip.w0, ip.w1);
      return row === NOT_FOUND ? null : table.asnV6(row);
    };
    expect(find('2001:db8:0:ffff::')).toBe(1);
    expect(find('2001:db8:1::5')).toBe(2);
    expect(find('2001:db8:1:ffff::')).toBe(2);
    expect(find('2001:db8:2::')).toBe(1);
    expect(find('2001:db8:ffff::')).toBe(1);
    expect(find('2001:db8:ffff:0:0:0:0:1')).toBe(1);
    expect(find('2001:db8:ffff:1::')).toBeNull();
  });
});

describe('AsnTable parsing', () => {
  it('reports an empty organisation as null and accepts a missing final newline', () => {
    const table = tableOf(['1,2,64500,', '3,4,64501,Named']);
    expect(table.orgV4(table.findIpv4(1))).toBeNull();
    expect(table.orgV4(table.findIpv4(4))).toBe('Named');
    expect(table.stats.organisations).toBe(1);
  });

  it('treats AS0 (unroutable) rows as no ASN', () => {
    const table = tableOf(['1,2,0,Unrouted', '3,4,64500,Routed']);
    expect(table.findIpv4(1)).toBe(NOT_FOUND);
    expect(table.asnV4(table.findIpv4(3))).toBe(64500);
  });

  it('rejects bounds out of range', () => {
    expect(() => tableOf(['1,4294967296,1,Too big'])).toThrow('line 1: bad IPv4 range bound');
    expect(() => tableOf([], ['1,340282366920938463463374607431768211456,1,Too big'])).toThrow(
      'line 1: IPv6 range bound exceeds 128 bits',
    );
    expect(() => tableOf(['1,2,3'])).toThrow('line 1: expected 4 comma-separated fields');
  });

  it('takes the upper 64 bits of decimal IPv6 bounds', () => {
    // 2^128 - 1: every bit set; 2^64: the first address of ::1:0:0:0:0 / the /64 after ::/64.
    const table = tableOf(
      [],
      [
        '18446744073709551616,18446744073709551616,7,Second /64',
        '340282366920938463463374607431768211455,340282366920938463463374607431768211455,8,Last',
      ],
    );
    expect(table.asnV6(table.findIpv6(0, 1))).toBe(7);
    expect(table.findIpv6(0, 0)).toBe(NOT_FOUND);
    expect(table.asnV6(table.findIpv6(0xffffffff, 0xffffffff))).toBe(8);
  });
});
