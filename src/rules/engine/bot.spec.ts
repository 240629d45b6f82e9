import { BotConfig } from '../rules.schemas';
import { BotRule } from './bot';
import { classifyUserAgent } from './bot-classifier';
import { enrichment, facts } from './fixtures';

describe('classifyUserAgent', () => {
  it.each([
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36',
      null,
      null,
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
      null,
      null,
    ],
    [
      'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      15169,
      'search_engine',
    ],
    [
      'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      8075,
      'search_engine',
    ],
    [
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
      8075,
      'ai_crawler',
    ],
    [
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
      16509,
      'ai_crawler',
    ],
    [
      'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
      32934,
      'social_preview',
    ],
    ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 16509, 'social_preview'],
    ['Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)', 16276, 'monitor'],
    ['curl/8.11.1', 3320, 'http_client'],
    ['python-requests/2.32.3', 3320, 'http_client'],
    ['Go-http-client/2.0', 14061, 'http_client'],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/141.0.0.0 Safari/537.36',
      16509,
      'headless_browser',
    ],
    ['Scrapy/2.12.0 (+https://scrapy.org)', 14061, 'scraper'],
    ['MyCompanyBot/1.0', 14061, 'unknown_bot'],
  ] as const)('%s -> %s', (ua, asn, category) => {
    expect(classifyUserAgent(ua, asn)).toBe(category);
  });

  it('treats a search engine user agent from a foreign network as an impostor', () => {
    const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    expect(classifyUserAgent(googlebot, 14061)).toBe('unknown_bot');
    expect(classifyUserAgent(googlebot, null)).toBe('unknown_bot');
  });

  it('checks the network on every call, whatever it saw of the same user agent before', () => {
    const bingbot = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
    expect(classifyUserAgent(bingbot, 8075)).toBe('search_engine');
    expect(classifyUserAgent(bingbot, 16509)).toBe('unknown_bot');
    expect(classifyUserAgent(bingbot, 8075)).toBe('search_engine');
  });

  it('classifies many distinct and very long user agents alike, seen once or again', () => {
    const long = `${'Mozilla/5.0 (X11; Linux x86_64) '.repeat(40)}python-requests/2.31`;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 12_000; i++) {
        expect(classifyUserAgent(`curl/8.${i}.0`, null)).toBe('http_client');
      }
      expect(classifyUserAgent(`Scrapy/2.11 ${long}`, null)).toBe('scraper');
      expect(classifyUserAgent(`${long} HeadlessChrome/120.0`, null)).toBe('headless_browser');
      expect(classifyUserAgent(long, null)).toBeNull();
    }
  });
});

describe('BotRule', () => {
  const rule = (config: unknown) => new BotRule(BotConfig.parse(config));

  it('denies denied categories and lets allowed ones through even when also denied', () => {
    const r = rule({
      deny: ['ai_crawler', 'search_engine', 'unknown_bot'],
      allow: ['search_engine'],
    });
    expect(r.evaluate(facts(), enrichment({ botCategory: 'ai_crawler' }))).toEqual({
      conclusion: 'DENY',
      reason: 'BOT_DENIED',
    });
    expect(r.evaluate(facts(), enrichment({ botCategory: 'search_engine' })).conclusion).toBe(
      'ALLOW',
    );
    expect(r.evaluate(facts(), enrichment({ botCategory: 'monitor' })).conclusion).toBe('ALLOW');
    expect(r.evaluate(facts(), enrichment({ botCategory: null })).conclusion).toBe('ALLOW');
  });

  it('treats an empty user agent as suspicious unless told otherwise', () => {
    expect(rule({}).evaluate(facts(), enrichment({ userAgent: '  ' }))).toEqual({
      conclusion: 'DENY',
      reason: 'EMPTY_USER_AGENT',
    });
    const lenient = rule({ deny: ['scraper'], denyEmptyUserAgent: false });
    expect(lenient.evaluate(facts(), enrichment({ userAgent: '' })).conclusion).toBe('ALLOW');
  });
});
