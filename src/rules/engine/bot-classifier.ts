import { isbot } from 'isbot';
import type { BotCategory } from './types';

/**
 * Named crawlers and tools by category, checked before the generic isbot test. Order matters:
 * the first category whose pattern matches wins (an AI crawler that also says "bot" is ai_crawler).
 */
const CATEGORY_PATTERNS: ReadonlyArray<readonly [BotCategory, RegExp]> = [
  [
    'headless_browser',
    /headlesschrome|phantomjs|puppeteer|playwright|selenium|webdriver|slimerjs/i,
  ],
  [
    'ai_crawler',
    /gptbot|chatgpt-user|oai-searchbot|claudebot|claude-web|anthropic-ai|ccbot|perplexitybot|perplexity-user|google-extended|bytespider|amazonbot|applebot-extended|cohere-ai|diffbot|meta-externalagent|youbot|ai2bot|timpibot/i,
  ],
  [
    'search_engine',
    /googlebot|bingbot|yandex(bot|images)|baiduspider|duckduckbot|applebot|slurp|sogou|seznambot|naver|yeti|qwantbot|mojeekbot|petalbot/i,
  ],
  [
    'social_preview',
    /facebookexternalhit|facebot|twitterbot|slackbot|linkedinbot|discordbot|telegrambot|whatsapp|pinterest|redditbot|skypeuripreview|embedly|mastodon/i,
  ],
  [
    'monitor',
    /uptimerobot|pingdom|statuscake|site24x7|newrelicpinger|datadog|better ?uptime|uptime-kuma|freshping|checkly|nagios|zabbix|pagerduty|gatus/i,
  ],
  [
    'http_client',
    /^(curl|wget|httpie|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|okhttp|java\/|apache-httpclient|axios|node-fetch|undici|got |libwww-perl|ruby|guzzlehttp|rest-client|postmanruntime|insomnia|powershell|dart:io|reqwest)/i,
  ],
  ['scraper', /scrapy|crawler4j|colly|httrack|webcopier|nutch|heritrix|spider|scraper|crawl/i],
];

/**
 * Search engines whose crawlers come only from their own networks. A user agent that claims to be
 * one of them from any other ASN is an impostor and is classified unknown_bot, so allowing
 * search_engine allows only the verified crawlers.
 */
const SEARCH_ENGINE_ASNS: ReadonlyArray<readonly [RegExp, ReadonlySet<number>]> = [
  [/googlebot/i, new Set([15169, 396982])],
  [/bingbot/i, new Set([8075])],
  [/applebot/i, new Set([714, 6185])],
  [/yandex/i, new Set([13238, 208722])],
  [/baiduspider/i, new Set([55967, 38365])],
];

/** The bot category of a user agent, or null when it looks like a person's browser. */
export function classifyUserAgent(userAgent: string, asn: number | null): BotCategory | null {
  if (userAgent === '') return null;
  const category = claimedCategory(userAgent);
  if (category === 'search_engine' && !isVerifiedSearchEngine(userAgent, asn)) {
    return 'unknown_bot';
  }
  return category;
}

/**
 * Recent user agents' categories as claimed, before the network check. A site sees few distinct
 * agents, and the patterns plus isbot cost about 5 µs a decision (measured). Bounded: agents
 * longer than CACHED_AGENT_LENGTH are not kept, and the cache starts over when full, so agents an
 * attacker makes up cannot grow it.
 */
const CACHED_AGENTS = 10_000;
const CACHED_AGENT_LENGTH = 512;
const claimed = new Map<string, BotCategory | null>();

function claimedCategory(userAgent: string): BotCategory | null {
  const cached = claimed.get(userAgent);
  if (cached !== undefined) return cached;
  const category = matchCategory(userAgent);
  if (userAgent.length <= CACHED_AGENT_LENGTH) {
    if (claimed.size >= CACHED_AGENTS) claimed.clear();
    claimed.set(userAgent, category);
  }
  return category;
}

function matchCategory(userAgent: string): BotCategory | null {
  for (const [category, pattern] of CATEGORY_PATTERNS) {
    if (pattern.test(userAgent)) return category;
  }
  return isbot(userAgent) ? 'unknown_bot' : null;
}

function isVerifiedSearchEngine(userAgent: string, asn: number | null): boolean {
  for (const [pattern, asns] of SEARCH_ENGINE_ASNS) {
    if (pattern.test(userAgent)) return asn !== null && asns.has(asn);
  }
  // Engines without a published network: trusted by user agent alone.
  return true;
}
