import { InvalidIdError } from './errors';
import { newId, parseRuleId, parseSiteId, parseTeamId } from './ids';

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
