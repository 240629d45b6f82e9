import { RuleEntity } from '../rules/rule.entity';
import { DryRunImpact } from './analytics.port';
import { quotaStatus, ruleImpact } from './analytics.service';

const rule = {
  id: 'rule_01jreadyreadyreadyreadyready',
  type: 'shield',
  createdAt: new Date(0),
} as RuleEntity;
const impact = (o: Partial<DryRunImpact>): DryRunImpact => ({
  evaluated: 1000,
  wouldDeny: 0,
  alsoDeniedLive: 0,
  likelyLegitimate: 0,
  topIps: [],
  topPaths: [],
  ...o,
});
const judge = (o: Partial<DryRunImpact>) => {
  const r = ruleImpact(rule, 0, impact(o));
  return [r.verdict, r.reasons];
};

describe('dry-run readiness verdict', () => {
  it('is READY when nothing allowed would be denied, or few and not real users', () => {
    expect(judge({})).toEqual(['READY', ['NO_ALLOWED_REQUEST_WOULD_BE_DENIED']]);
    expect(judge({ wouldDeny: 50, likelyLegitimate: 2 })).toEqual([
      'READY',
      ['LOW_FALSE_POSITIVE_SHARE'],
    ]);
  });

  it('asks for review on thin data, some likely false positives or a notable deny rate', () => {
    expect(judge({ evaluated: 99, wouldDeny: 1 })).toEqual(['REVIEW', ['INSUFFICIENT_TRAFFIC']]);
    expect(judge({ wouldDeny: 50, likelyLegitimate: 5 })).toEqual([
      'REVIEW',
      ['SOME_FALSE_POSITIVES_LIKELY'],
    ]);
    expect(judge({ wouldDeny: 150 })).toEqual(['REVIEW', ['NOTABLE_DENY_RATE']]);
  });

  it('is NOT_READY when many would-be denials look like real users or it denies a lot', () => {
    expect(judge({ wouldDeny: 40, likelyLegitimate: 11 })).toEqual([
      'NOT_READY',
      ['HIGH_FALSE_POSITIVE_SHARE'],
    ]);
    expect(judge({ wouldDeny: 400, likelyLegitimate: 30 })).toEqual([
      'NOT_READY',
      ['SOME_FALSE_POSITIVES_LIKELY', 'HIGH_DENY_RATE'],
    ]);
  });

  it('says it in one sentence of numbers and enums', () => {
    const r = ruleImpact(rule, 0, impact({ wouldDeny: 50, likelyLegitimate: 5 }));
    expect(r.summary).toBe(
      'rule_01jreadyreadyreadyreadyready (shield) would have denied 50 allowed requests out of 1000 (5.0%) since 1970-01-01T00:00:00.000Z; an estimated 10.0% of them look like real users; verdict REVIEW (SOME_FALSE_POSITIVES_LIKELY).',
    );
    expect(r.wouldDenyRate).toBe(0.05);
    expect(r.estimatedFalsePositiveShare).toBe(0.1);
    expect(ruleImpact(rule, 0, impact({ wouldDeny: 1 })).summary).toContain(
      'would have denied 1 allowed request out of 1000',
    );
  });

  it('says an email rule was measured against the requests with an email', () => {
    const email = { ...rule, type: 'email' } as RuleEntity;
    expect(ruleImpact(email, 0, impact({ wouldDeny: 5, evaluated: 200 }), 0).summary).toContain(
      'would have denied 5 allowed requests out of 200 requests with an email (2.5%) since',
    );
    expect(ruleImpact(email, 0, impact({ evaluated: 1 }), 0).summary).toContain(
      'out of 1 request with an email (0.0%)',
    );
  });

  it('takes a given false-positive share over the network heuristic (email rules)', () => {
    const all = impact({ wouldDeny: 50, likelyLegitimate: 50 });
    expect(ruleImpact(rule, 0, all).verdict).toBe('NOT_READY');
    const r = ruleImpact(rule, 0, all, 0);
    expect([r.verdict, r.reasons, r.estimatedFalsePositiveShare]).toEqual([
      'READY',
      ['LOW_FALSE_POSITIVE_SHARE'],
      0,
    ]);
  });
});

describe('quota status', () => {
  it.each([
    [0, 0, 'OK'],
    [50, 90, 'OK'],
    [80, 80, 'OK'],
    [81, 90, 'WARNING'],
    [10, 101, 'WARNING'],
    [100, 100, 'WARNING'],
    [101, 101, 'EXCEEDED'],
  ] as const)('%d used, %d projected of 100: %s', (used, projected, status) => {
    expect(quotaStatus(used, 100, projected)).toBe(status);
  });
});
