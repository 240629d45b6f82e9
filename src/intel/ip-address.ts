import { z } from 'zod';
import { formatIpv4, formatIpv6, parseIp } from './ip';

/**
 * The one text form of a client address, null when `text` is not one: dotted IPv4 (also for
 * IPv4-mapped IPv6, what dual-stack sockets report for IPv4 clients) and RFC 5952 IPv6, without
 * a zone id (local to the app's host, and free text). Every address Bulwark stores or searches
 * for passes through here, so one client has one spelling and nothing else rides along.
 */
export function canonicalIp(text: string): string | null {
  const parsed = parseIp(text);
  if (parsed === null) return null;
  return parsed.version === 4 ? formatIpv4(parsed.v4) : formatIpv6(parsed);
}

/** An IP address argument, canonicalised (see canonicalIp). */
export const IpAddress = z
  .string()
  .max(64, 'must be at most 64 characters')
  .transform((text, ctx) => {
    const ip = canonicalIp(text);
    if (ip === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an IPv4 or IPv6 address, such as 203.0.113.7 or 2001:db8::1',
      });
      return z.NEVER;
    }
    return ip;
  });
