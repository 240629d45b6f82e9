/**
 * Realistic, deterministic demo traffic for a shop: 30 days of browsers with a daily rhythm,
 * verified crawlers, scrapers on cloud networks, a credential-stuffing burst, injection probes,
 * Tor visitors, sign-ups with throw-away addresses, a traffic spike yesterday evening and a bot
 * nobody has seen before in the last ten hours. It produces request facts only; decisions come from the real engine.
 */

export interface DemoRequest {
  timeMs: number;
  input: {
    ip: string;
    method: string;
    host: string;
    path: string;
    query: string;
    headers: Record<string, string>;
    email?: string;
  };
}

export interface DemoOptions {
  /** End of the generated period (ms); traffic covers the `days` before it. */
  now: number;
  days: number;
  /** About this many requests in all. */
  decisions: number;
  seed?: number;
}

const HOUR = 3_600_000;
const HOST = 'shop.example.com';

/** mulberry32: small, fast, good enough for synthetic traffic, and reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Residential networks (checked against the shipped intel data) and their share of visitors. */
const RESIDENTIAL: readonly [prefix: string, weight: number][] = [
  ['80.128', 30], // Deutsche Telekom, DE
  ['73.15', 35], // Comcast, US
  ['86.200', 12], // Orange, FR
  ['81.100', 13], // Virgin Media, GB
  ['189.30', 10], // V tal, BR
];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36',
];
const PAGES = ['/', '/products', '/cart', '/checkout', '/account', '/search', '/about'];
const WORDS = ['shoes', 'jacket', 'running', 'blue', 'sale', 'gift', 'wool', 'size 42'];
const PROBES: readonly [path: string, query: string][] = [
  ['/products', "id=1' UNION SELECT username,password FROM users--"],
  ['/search', 'q=<script>alert(document.cookie)</script>'],
  ['/download', 'file=../../../../etc/passwd'],
  ['/api/ping', 'host=127.0.0.1;cat /etc/shadow'],
  ['/login', "user=admin'--&pass=x"],
  ['/search', 'q=%3Csvg%20onload%3Dalert(1)%3E'],
];
const SCANNERS = [
  'sqlmap/1.8.11#stable (https://sqlmap.org)',
  'Mozilla/5.0 (compatible; Nikto/2.5.0)',
  'curl/8.11.1',
];
const SCRAPER_UAS = [
  'python-requests/2.32.3',
  'Scrapy/2.12.0 (+https://scrapy.org)',
  'Go-http-client/2.0',
];
const DISPOSABLE = ['mailinator.com', '10minutemail.com', 'guerrillamail.com'];
const FREE = ['gmail.com', 'yahoo.com', 'outlook.com'];

/** Relative weights of each kind of traffic in one hour (before scaling to `decisions`). */
function hourWeights(hourStart: number, now: number) {
  const hoursAgo = Math.floor((now - hourStart) / HOUR);
  const daysAgo = Math.floor(hoursAgo / 24);
  const utcHour = new Date(hourStart).getUTCHours();
  // Busiest in the European afternoon and the American evening; quiet before dawn.
  const rhythm = 0.25 + 0.75 * Math.sin(((utcHour - 5) / 24) * Math.PI) ** 2;
  // Yesterday evening, 18 to 20 hours before `now`: inside a 24-hour anomaly window.
  const spike = hoursAgo >= 18 && hoursAgo < 20 ? 6 : 1;
  return {
    browsers: 100 * rhythm * spike,
    crawlers: 4,
    scrapers: 6,
    // Credential stuffing: a few cloud machines hammer /login for a quarter of an hour.
    stuffing: daysAgo === 3 && utcHour === 3 ? 500 : 0,
    probes: 2,
    tor: 1,
    signups: 1.5 * rhythm,
    newBot: hoursAgo < 10 ? 15 : 0,
  };
}
type Kind = keyof ReturnType<typeof hourWeights>;

/**
 * The first hour of the demo's traffic: the first whole hour inside the `days` before `now`, so
 * that every request falls within a `days`-long window ending at `now` (a 30-day demo is all
 * there in a 30-day analysis). The demo's team, site and rules are dated before it.
 */
export function demoPeriodStart(now: number, days: number): number {
  return Math.ceil((now - days * 24 * HOUR) / HOUR) * HOUR;
}

/** Yields the requests in time order, hour by hour, so memory stays flat at any size. */
export function* demoTraffic(options: DemoOptions): Generator<DemoRequest> {
  const random = prng(options.seed ?? 20261125);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const int = (n: number) => Math.floor(random() * n);
  const start = demoPeriodStart(options.now, options.days);
  const hours: number[] = [];
  for (let h = start; h < options.now; h += HOUR) hours.push(h);
  const total = hours.reduce(
    (n, h) => n + Object.values(hourWeights(h, options.now)).reduce((a, b) => a + b, 0),
    0,
  );
  const scale = options.decisions / total;
  const residentialTotal = RESIDENTIAL.reduce((n, [, w]) => n + w, 0);
  const residentialIp = () => {
    let r = random() * residentialTotal;
    for (const [prefix, weight] of RESIDENTIAL) {
      if ((r -= weight) < 0) return `${prefix}.${int(16)}.${1 + int(250)}`;
    }
    return `80.128.${int(16)}.${1 + int(250)}`;
  };
  const make: Record<Kind, () => DemoRequest['input']> = {
    browsers: () => {
      const page = random() < 0.5 ? `/products/${1 + int(200)}` : pick(PAGES);
      return {
        ip: residentialIp(),
        method: page === '/checkout' && random() < 0.5 ? 'POST' : 'GET',
        host: HOST,
        path: page,
        query: page === '/search' ? `q=${encodeURIComponent(pick(WORDS))}` : '',
        headers: {
          'user-agent': pick(BROWSERS),
          accept: 'text/html,application/xhtml+xml',
          'accept-language': 'en-US,en;q=0.9',
          referer: `https://${HOST}/`,
        },
      };
    },
    crawlers: () =>
      random() < 0.7
        ? {
            ip: `66.249.66.${1 + int(200)}`,
            method: 'GET',
            host: HOST,
            path: `/products/${1 + int(200)}`,
            query: '',
            headers: {
              'user-agent':
                'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
            },
          }
        : {
            ip: `157.55.39.${1 + int(200)}`,
            method: 'GET',
            host: HOST,
            path: pick(PAGES),
            query: '',
            headers: {
              'user-agent':
                'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
            },
          },
    scrapers: () => ({
      ip: random() < 0.5 ? `159.89.${int(8)}.${1 + int(250)}` : `95.216.${int(8)}.${1 + int(250)}`,
      method: 'GET',
      host: HOST,
      path: `/products/${1 + int(200)}`,
      query: 'format=json',
      headers: { 'user-agent': pick(SCRAPER_UAS), accept: '*/*' },
    }),
    stuffing: () => ({
      ip: `51.75.1.${1 + int(6)}`,
      method: 'POST',
      host: HOST,
      path: '/login',
      query: '',
      headers: {
        'user-agent': pick(BROWSERS),
        'content-type': 'application/x-www-form-urlencoded',
      },
      email: `user${int(100000)}@${pick(FREE)}`,
    }),
    probes: () => {
      const [path, query] = pick(PROBES);
      return {
        ip: random() < 0.6 ? `45.33.${int(32)}.${1 + int(250)}` : `20.50.${int(8)}.${1 + int(250)}`,
        method: 'GET',
        host: HOST,
        path,
        query,
        headers: { 'user-agent': pick(SCANNERS) },
      };
    },
    tor: () => ({
      ip: `185.220.101.${1 + int(60)}`,
      method: 'GET',
      host: HOST,
      path: pick(PAGES),
      query: '',
      headers: { 'user-agent': BROWSERS[2] },
    }),
    signups: () => ({
      ip: residentialIp(),
      method: 'POST',
      host: HOST,
      path: '/signup',
      query: '',
      headers: { 'user-agent': pick(BROWSERS), 'content-type': 'application/json' },
      email: `shopper${int(100000)}@${random() < 0.15 ? pick(DISPOSABLE) : random() < 0.6 ? pick(FREE) : 'example.org'}`,
    }),
    newBot: () => ({
      ip: `95.216.200.${1 + int(20)}`,
      method: 'GET',
      host: HOST,
      path: `/products/${1 + int(200)}`,
      query: '',
      headers: { 'user-agent': 'NovaCrawler/1.0 (+https://nova-crawler.example/bot)' },
    }),
  };

  let carry = 0;
  for (const hour of hours) {
    const weights = hourWeights(hour, options.now);
    const batch: DemoRequest[] = [];
    for (const kind of Object.keys(weights) as Kind[]) {
      const exact = weights[kind] * scale + carry;
      const count = Math.floor(exact);
      carry = exact - count;
      for (let i = 0; i < count; i++) {
        const span = kind === 'stuffing' ? HOUR / 4 : HOUR;
        const timeMs = hour + int(Math.min(span, options.now - hour));
        batch.push({ timeMs, input: make[kind]() });
      }
    }
    batch.sort((a, b) => a.timeMs - b.timeMs);
    yield* batch;
  }
}
