import type { NetworkType, RiskLevel, RiskReason } from './intel.types';
import type { SpecialRange } from './ip';

/** What the data said about one address; the input of the pure rules below. */
export interface NetworkSignals {
  /** A private or reserved address, null for a public one (nothing else is looked up for these). */
  specialRange: SpecialRange | null;
  /** The exact address is in the Tor exit list. */
  torExit: boolean;
  /** The address's ASN is known at all. */
  hasAsn: boolean;
  torAsn: boolean;
  vpnAsn: boolean;
  hostingAsn: boolean;
}

export interface NetworkAssessment {
  networkType: NetworkType;
  risk: RiskLevel;
  riskReasons: RiskReason[];
}

/**
 * The single network type of an address, by precedence: tor > vpn > hosting > residential >
 * unknown. The most anonymising signal wins because it says most about who may be behind the
 * address: a Tor exit on a hosting ASN hides any user, not only the host's customers.
 */
export function classifyNetwork(s: NetworkSignals): NetworkType {
  if (s.specialRange) return 'unknown';
  if (s.torExit || s.torAsn) return 'tor';
  if (s.vpnAsn) return 'vpn';
  if (s.hostingAsn) return 'hosting';
  return s.hasAsn ? 'residential' : 'unknown';
}

/**
 * Risk: high for Tor (anyone, unaccountable), medium for VPN and hosting (the user is hidden or
 * the traffic is likely automated), low otherwise. Reasons list every signal that matched,
 * strongest first, so a reader sees both "Tor exit" and "on a hosting ASN" where both hold.
 * An address with no signal at all is low risk with the reason that explains why it is low.
 */
export function assessNetwork(s: NetworkSignals): NetworkAssessment {
  if (s.specialRange) {
    return { networkType: 'unknown', risk: 'low', riskReasons: [SPECIAL_REASONS[s.specialRange]] };
  }
  const riskReasons: RiskReason[] = [];
  if (s.torExit) riskReasons.push('TOR_EXIT_LIST');
  if (s.torAsn) riskReasons.push('TOR_OPERATOR_ASN');
  if (s.vpnAsn) riskReasons.push('VPN_PROVIDER');
  if (s.hostingAsn) riskReasons.push('HOSTING_PROVIDER');
  const networkType = classifyNetwork(s);
  if (networkType === 'residential') riskReasons.push('RESIDENTIAL_NETWORK');
  if (!s.hasAsn) riskReasons.push('NO_ASN');
  return { networkType, risk: riskOf(networkType), riskReasons };
}

/** A private network and an unassigned range say different things about a client. */
const SPECIAL_REASONS: Record<SpecialRange, RiskReason> = {
  private: 'PRIVATE_ADDRESS',
  reserved: 'RESERVED_ADDRESS',
};

export function riskOf(networkType: NetworkType): RiskLevel {
  switch (networkType) {
    case 'tor':
      return 'high';
    case 'vpn':
    case 'hosting':
      return 'medium';
    case 'residential':
    case 'unknown':
      return 'low';
  }
}
