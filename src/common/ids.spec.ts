import { InvalidIdError } from './errors';
import { TypeID } from 'typeid-js';
import {
  newDecisionId,
  newId,
  parseDecisionId,
  parseRuleId,
  parseSiteId,
  parseTeamId,
} from './ids';

describe('TypeIDs', () => {
  it('round-trips ids of each kind', () => {
    const id = newId('site');
    expect(id).toMatch(/^site_[0-9a-z]{26}$/);
    expect(parseSiteId(id)).toBe(id);
  });

  const cases: [string, (raw: unknown) => string, () => unknown, string, string][] = [
    ['a team id given as a site id', parseSiteId, () => newId('team'), 'site', 'list-sites'],
    ['garbage', parseTeamId, () => 'hello', 'team', 'list-teams'],
    ['a bad suffix', parseRuleId, () => 'rule_zzzzzzzzzzzzzzzzzzzzzzzzzz', 'rule', 'list-rules'],
    ['a number', parseTeamId, () => 42, 'team', 'list-teams'],
  ];
  it.each(cases)(
    'rejects %s, naming the prefix and where valid ids come from',
    (_, parse, raw, prefix, tool) => {
      let error: unknown;
      try {
        parse(raw());
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidIdError);
      expect((error as Error).message).toContain(`expected a TypeID with ${prefix} prefix`);
      expect((error as Error).message).toContain(`Call ${tool}`);
    },
  );
});

describe('newDecisionId', () => {
  it('is a valid req_ TypeID whose UUIDv7 time is the given time, so ids sort by decision time', () => {
    const t = Date.UTC(2026, 9, 1, 12, 30);
    const ids = [t, t + 1, t + 60_000, t - 86_400_000].map((ms) => newDecisionId(ms));
    for (const id of ids) expect(parseDecisionId(id)).toBe(id);
    const uuid = TypeID.fromString(ids[0], 'req').toUUID().replace(/-/g, '');
    expect(parseInt(uuid.slice(0, 12), 16)).toBe(t);
    expect(uuid[12]).toBe('7');
    expect([...ids].sort()).toEqual([ids[3], ids[0], ids[1], ids[2]]);
  });

  it('never repeats the random part, across refills of its random pool', () => {
    const t = Date.UTC(2026, 9, 1);
    // 2,000 ids at one millisecond: only the 74 random bits tell them apart (pool: 256 ids).
    const ids = Array.from({ length: 2000 }, () => newDecisionId(t));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      const uuid = TypeID.fromString(id, 'req').toUUID().replace(/-/g, '');
      expect(parseInt(uuid.slice(0, 12), 16)).toBe(t);
      expect(uuid[12]).toBe('7');
      expect('89ab').toContain(uuid[16]);
    }
  });
});
