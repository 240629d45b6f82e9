import { EmailConfig } from '../rules.schemas';
import { classifyEmail, EmailRule } from './email';
import { facts } from './fixtures';

describe('classifyEmail', () => {
  it.each([
    'ada@example.com',
    'o.brien+newsletter@company.co.uk',
    'user@xn--mnchen-3ya.de',
    'jürgen@müller.de',
  ])('accepts %s', (email) => expect(classifyEmail(email)).toBeNull());

  it.each([
    '',
    'plainaddress',
    '@example.com',
    'ada@',
    'ada@localhost',
    'ada@@example.com',
    'a b@example.com',
    '.ada@example.com',
    'ada..lovelace@example.com',
    'ada@-example.com',
    'ada@example.123',
    `${'a'.repeat(65)}@example.com`,
    `ada@${'a'.repeat(250)}.com`,
  ])('rejects %j as invalid', (email) => expect(classifyEmail(email)).toBe('invalid'));

  it('finds disposable domains (and their subdomains) and free providers', () => {
    expect(classifyEmail('x@mailinator.com')).toBe('disposable');
    expect(classifyEmail('x@inbox.mailinator.com')).toBe('disposable');
    expect(classifyEmail('x@10minutemail.com')).toBe('disposable');
    expect(classifyEmail('x@gmail.com')).toBe('free');
    expect(classifyEmail('x@GMAIL.COM')).toBe('free');
    expect(classifyEmail('x@yahoo.com')).toBe('free');
  });
});

describe('EmailRule', () => {
  const rule = new EmailRule(EmailConfig.parse({ deny: ['invalid', 'disposable'] }));

  it('denies only the problems it was configured for', () => {
    expect(rule.evaluate(facts({ email: 'nope' }))).toEqual({
      conclusion: 'DENY',
      reason: 'EMAIL_INVALID',
    });
    expect(rule.evaluate(facts({ email: 'x@mailinator.com' }))).toEqual({
      conclusion: 'DENY',
      reason: 'EMAIL_DISPOSABLE',
    });
    expect(rule.evaluate(facts({ email: 'x@gmail.com' })).conclusion).toBe('ALLOW');
  });

  it('has nothing to judge when the app sent no email', () => {
    expect(rule.evaluate(facts()).conclusion).toBe('ALLOW');
  });
});
