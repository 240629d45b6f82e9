import { z } from 'zod';
import { NETWORK_TYPES } from '../rules/rules.schemas';
import { assessNetwork, classifyNetwork, riskOf, type NetworkSignals } from './intel.classify';
import { RISK_LEVELS, RISK_REASONS } from './intel.types';

const none: NetworkSignals = {
  specialRange: null,
  torExit: false,
  hasAsn: true,
  torAsn: false,
  vpnAsn: false,
  hostingAsn: false,
};

describe('classifyNetwork', () => {
  it('applies tor > vpn > hosting > residential > unknown', () => {
    const all = { ...none, torExit: true, torAsn: true, vpnAsn: true, hostingAsn: true };
    expect(classifyNetwork(all)).toBe('tor');
    expect(classifyNetwork({ ...all, torExit: false })).toBe('tor');
    expect(classifyNetwork({ ...all, torAsn: false })).toBe('tor');
    expect(classifyNetwork({ ...all, torExit: false, torAsn: false })).toBe('vpn');
    expect(classifyNetwork({ ...none, hostingAsn: true })).toBe('hosting');
    expect(classifyNetwork(none)).toBe('residential');
    expect(classifyNetwork({ ...none, hasAsn: false })).toBe('unknown');
  });

  it('lets an exit-list hit win even without an ASN', () => {
    expect(classifyNetwork({ ...none, hasAsn: false, torExit: true })).toBe('tor');
  });

  it('makes private addresses unknown whatever else is set', () => {
    expect(classifyNetwork({ ...none, specialRange: 'private', torExit: true })).toBe('unknown');
  });
});

describe('assessNetwork', () => {
  it('is high risk for Tor and lists every matching signal, strongest first', () => {
    expect(assessNetwork({ ...none, torExit: true, hostingAsn: true })).toEqual({
      networkType: 'tor',
      risk: 'high',
      riskReasons: ['TOR_EXIT_LIST', 'HOSTING_PROVIDER'],
    });
    expect(assessNetwork({ ...none, torAsn: true })).toEqual({
      networkType: 'tor',
      risk: 'high',
      riskReasons: ['TOR_OPERATOR_ASN'],
    });
  });

  it('is medium risk for VPN and hosting', () => {
    expect(assessNetwork({ ...none, vpnAsn: true })).toEqual({
      networkType: 'vpn',
      risk: 'medium',
      riskReasons: ['VPN_PROVIDER'],
    });
    expect(assessNetwork({ ...none, vpnAsn: true, hostingAsn: true }).riskReasons).toEqual([
      'VPN_PROVIDER',
      'HOSTING_PROVIDER',
    ]);
    expect(assessNetwork({ ...none, hostingAsn: true })).toEqual({
      networkType: 'hosting',
      risk: 'medium',
      riskReasons: ['HOSTING_PROVIDER'],
    });
  });

  it('is low risk for residential, unknown and private addresses, saying why', () => {
    expect(assessNetwork(none)).toEqual({
      networkType: 'residential',
      risk: 'low',
      riskReasons: ['RESIDENTIAL_NETWORK'],
    });
    expect(assessNetwork({ ...none, hasAsn: false })).toEqual({
      networkType: 'unknown',
      risk: 'low',
      riskReasons: ['NO_ASN'],
    });
    expect(assessNetwork({ ...none, specialRange: 'private', hasAsn: false })).toEqual({
      networkType: 'unknown',
      risk: 'low',
      riskReasons: ['PRIVATE_ADDRESS'],
    });
    expect(assessNetwork({ ...none, specialRange: 'reserved', hasAsn: false })).toEqual({
      networkType: 'unknown',
      risk: 'low',
      riskReasons: ['RESERVED_ADDRESS'],
    });
  });

  it('only ever yields declared reasons, risk levels and network types', () => {
    const reason = z.enum(RISK_REASONS);
    const level = z.enum(RISK_LEVELS);
    const type = z.enum(NETWORK_TYPES);
    const flags = [false, true];
    for (const specialRange of [null, 'private', 'reserved'] as const)
      for (const torExit of flags)
        for (const hasAsn of flags)
          for (const torAsn of flags)
            for (const vpnAsn of flags)
              for (const hostingAsn of flags) {
                const a = assessNetwork({
                  specialRange,
                  torExit,
                  hasAsn,
                  torAsn,
                  vpnAsn,
                  hostingAsn,
                });
                expect(type.parse(a.networkType)).toBe(a.networkType);
                expect(level.parse(a.risk)).toBe(riskOf(a.networkType));
                expect(a.riskReasons.length).toBeGreaterThan(0);
                for (const r of a.riskReasons) expect(reason.parse(r)).toBe(r);
              }
  });
});
