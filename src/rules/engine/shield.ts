import { DDWAF } from '@datadog/native-appsec';
import type { z } from 'zod';
import { SHIELD_ATTACKS, type ShieldConfig } from '../rules.schemas';
import {
  ALLOWED,
  type DecisionReason,
  type Enrichment,
  type RequestFacts,
  type RuleEvaluator,
  type RuleVerdict,
} from './types';

export type ShieldAttack = (typeof SHIELD_ATTACKS)[number];
export type ShieldRuleConfig = z.infer<typeof ShieldConfig>;

/** The decision reason each attack class denies with. */
export const SHIELD_REASONS: Readonly<Record<ShieldAttack, DecisionReason>> = {
  sql_injection: 'SQL_INJECTION',
  xss: 'XSS',
  path_traversal: 'PATH_TRAVERSAL',
  command_injection: 'COMMAND_INJECTION',
  scanner: 'SCANNER',
};

/** Verdicts are shared, frozen objects: evaluation allocates none. */
const DENIED: Readonly<Record<ShieldAttack, RuleVerdict>> = Object.freeze({
  sql_injection: Object.freeze({ conclusion: 'DENY', reason: SHIELD_REASONS.sql_injection }),
  xss: Object.freeze({ conclusion: 'DENY', reason: SHIELD_REASONS.xss }),
  path_traversal: Object.freeze({ conclusion: 'DENY', reason: SHIELD_REASONS.path_traversal }),
  command_injection: Object.freeze({
    conclusion: 'DENY',
    reason: SHIELD_REASONS.command_injection,
  }),
  scanner: Object.freeze({ conclusion: 'DENY', reason: SHIELD_REASONS.scanner }),
});

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * UTF-8 bytes to text, never throwing: invalid sequences become U+FFFD, except overlong
 * encodings of ASCII (%c0%ae for '.', %e0%80%af for '/'), which become the ASCII character they
 * smuggle, because that is how the vulnerable decoders they target (old IIS, Tomcat) read them.
 */
function decodeBytes(bytes: Uint8Array): string {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const c1 = bytes[i + 1] ?? 0;
    const c2 = bytes[i + 2] ?? 0;
    if ((b === 0xc0 || b === 0xc1) && (c1 & 0xc0) === 0x80) {
      out.push(((b & 0x1f) << 6) | (c1 & 0x3f));
      i += 1;
    } else if (b === 0xe0 && (c1 === 0x80 || c1 === 0x81) && (c2 & 0xc0) === 0x80) {
      out.push(((c1 & 0x3f) << 6) | (c2 & 0x3f));
      i += 2;
    } else {
      out.push(b);
    }
  }
  return utf8.decode(Uint8Array.from(out));
}

/** A run of %XX escapes, or one IIS-style %uXXXX escape. */
const ESCAPE = /(?:%[0-9A-Fa-f]{2})+|%[Uu][0-9A-Fa-f]{4}/g;

const decodeEscape = (run: string): string => {
  if (run[1] === 'u' || run[1] === 'U') return String.fromCharCode(parseInt(run.slice(2), 16));
  try {
    return decodeURIComponent(run);
  } catch {
    // Not valid UTF-8: decode byte by byte instead of failing.
    return decodeBytes(Buffer.from(run.replaceAll('%', ''), 'hex'));
  }
};

/**
 * One round of percent-decoding that never throws: %XX runs are read as UTF-8, %uXXXX as a
 * UTF-16 code unit (IIS style, used to smuggle payloads), and a '%' that starts no valid escape
 * stays as it is ("100% cotton"). With plusAsSpace, '+' is a space, as in form-encoded queries.
 */
export function percentDecode(input: string, plusAsSpace: boolean): string {
  const spaced = plusAsSpace && input.includes('+') ? input.replaceAll('+', ' ') : input;
  if (!spaced.includes('%')) return spaced;
  try {
    // Well-formed input, the common case, in one native call.
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(ESCAPE, decodeEscape);
  }
}

/**
 * The forms of a value worth inspecting: decoded once, and decoded a second time when that
 * changes it (double encoding such as %252e%252e%252f hides a payload from a single decode).
 * Never more than twice: a third layer reaches no application either. '+' is a space only in the
 * first round; after it a '+' came from %2B and is a literal plus ("C++").
 */
export function decodedForms(raw: string, plusAsSpace: boolean): string[] {
  const once = percentDecode(raw, plusAsSpace);
  if (!once.includes('%')) return [once];
  const twice = percentDecode(once, false);
  return twice === once ? [once] : [once, twice];
}

// ---------------------------------------------------------------------------------------------
// What is inspected
// ---------------------------------------------------------------------------------------------

/**
 * Headers not inspected. Browsers and HTTP clients generate them with a fixed grammar and
 * servers parse them as tokens, so application code never interprets them as free text; their
 * quotes and semicolons (sec-ch-ua: "Chromium";v="124") only cost work on every request.
 * Credentials are skipped because they carry arbitrary characters by design (a strong password
 * such as p'; -- x is not an attack) and are verified, not interpreted. Everything else is
 * inspected, including cookie, referer, user-agent, x-forwarded-*, host, origin, content-type
 * and any custom header.
 */
export const SKIPPED_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'authorization',
  'cache-control',
  'connection',
  'content-length',
  'dnt',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-unmodified-since',
  'keep-alive',
  'pragma',
  'priority',
  'proxy-authorization',
  'sec-ch-ua',
  'sec-ch-ua-arch',
  'sec-ch-ua-bitness',
  'sec-ch-ua-full-version',
  'sec-ch-ua-full-version-list',
  'sec-ch-ua-mobile',
  'sec-ch-ua-model',
  'sec-ch-ua-platform',
  'sec-ch-ua-platform-version',
  'sec-fetch-dest',
  'sec-fetch-mode',
  'sec-fetch-site',
  'sec-fetch-user',
  'sec-gpc',
  'te',
  'upgrade-insecure-requests',
]);

/** The decoded text one request exposes to the detector. */
export interface ShieldInputs {
  /** The decoded path, and those of its segments that hold more than word characters. */
  path: string[];
  /** Query parameter names and values, header values (cookies one by one). */
  values: string[];
  /** The user agent, for scanner signatures. */
  userAgent: string;
  /** Header names in lower case, for scanner signatures (Acunetix-Product...). */
  headerNames: string[];
}

/** Plain tokens (ids, slugs, numbers) cannot carry any of the detected syntaxes: not sent. */
const PLAIN = /^[A-Za-z0-9_.~-]*$/;

const pushForms = (into: string[], raw: string, plusAsSpace: boolean) => {
  if (raw === '' || PLAIN.test(raw)) return;
  for (const form of decodedForms(raw, plusAsSpace)) if (!PLAIN.test(form)) into.push(form);
};

/** Form-encoded pairs (a=1&b=2): names and values, '+' as space. */
function pushQuery(into: string[], query: string) {
  if (query === '') return;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) {
      pushForms(into, pair, true);
    } else {
      pushForms(into, pair.slice(0, eq), true);
      pushForms(into, pair.slice(eq + 1), true);
    }
  }
}

function pushHeader(into: string[], name: string, value: string) {
  if (name === 'cookie') {
    // Each cookie value on its own: the '; ' between cookies is not part of any value, and
    // cookie values are commonly percent-encoded (JSON carts, names).
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=');
      pushForms(into, (eq < 0 ? pair : pair.slice(eq + 1)).trim(), false);
    }
    return;
  }
  pushForms(into, value, false);
  if (name === 'referer') {
    // A referer is a URL: its query parameters are form-encoded values in their own right.
    const q = value.indexOf('?');
    if (q >= 0) pushQuery(into, value.slice(q + 1).split('#', 1)[0]);
  }
}

/**
 * Everything the shield inspects in one request, decoded. Without `text` (a scanner-only rule)
 * the path, query and header values are not decoded at all.
 */
export function collectShieldInputs(
  facts: RequestFacts,
  enrichment: Enrichment,
  text = true,
): ShieldInputs {
  const headerNames = Object.keys(facts.headers);
  const userAgent = enrichment.userAgent || facts.headers['user-agent'] || '';
  if (!text) return { path: [], values: [], userAgent, headerNames };
  const path: string[] = [];
  for (const form of decodedForms(facts.path, false)) {
    path.push(form);
    // Segments on their own too: libinjection reads a leading '/' as an operator, and a
    // payload in one segment ("/users/1 UNION SELECT ...") parses best alone.
    const segments = form.split('/');
    if (segments.length > 2) {
      for (const segment of segments) if (!PLAIN.test(segment)) path.push(segment);
    }
  }
  const values: string[] = [];
  pushQuery(values, facts.query);
  for (const name of headerNames) {
    if (!SKIPPED_HEADERS.has(name)) pushHeader(values, name, facts.headers[name] ?? '');
  }
  return { path, values, userAgent, headerNames };
}

// ---------------------------------------------------------------------------------------------
// The ruleset
// ---------------------------------------------------------------------------------------------

const ADDRESS = {
  path: 'shield.path',
  values: 'shield.values',
  userAgent: 'shield.user_agent',
} as const;
type Address = (typeof ADDRESS)[keyof typeof ADDRESS];

/** The slice of the libddwaf rule format (version 2.1) this ruleset uses. */
interface WafRule {
  id: string;
  name: string;
  tags: { type: ShieldAttack; category: 'attack_attempt' };
  conditions: {
    operator: 'is_sqli' | 'is_xss' | 'match_regex' | 'phrase_match';
    parameters: {
      inputs: { address: Address }[];
      regex?: string;
      list?: string[];
      options?: { enforce_word_boundary?: boolean };
    };
  }[];
  transformers: string[];
}

const ON_TEXT: { address: Address }[] = [{ address: ADDRESS.path }, { address: ADDRESS.values }];
const ON_VALUES: { address: Address }[] = [{ address: ADDRESS.values }];
const ON_PATH: { address: Address }[] = [{ address: ADDRESS.path }];

const rule = (
  id: string,
  type: ShieldAttack,
  condition: WafRule['conditions'][number],
  transformers: string[] = [],
): WafRule => ({
  id,
  name: id,
  tags: { type, category: 'attack_attempt' },
  conditions: [condition],
  transformers,
});
const regex = (
  id: string,
  type: ShieldAttack,
  inputs: { address: Address }[],
  pattern: string,
  transformers: string[] = [],
) =>
  rule(id, type, { operator: 'match_regex', parameters: { inputs, regex: pattern } }, transformers);

/** Alternatives as one RE2 pattern: one rule scans a value once for all of them. */
const anyOf = (...patterns: string[]) => patterns.map((p) => `(?:${p})`).join('|');

// SQL injection beyond libinjection.
// Time-based probes inside larger expressions: a sleep function called with a number.
const SQL_TIME_PROBE = String.raw`\b(?:pg_)?sleep\s*\(\s*\d|\bbenchmark\s*\(\s*\d+\s*,|\bwaitfor\s+delay\s*'|\bdbms_pipe\.receive_message\s*\(|\brandomblob\s*\(\s*\d{6,}`;
// The login-bypass shape: a name, a quote, then a comment that swallows the rest of the
// statement (admin' #). Prose puts words, not comment markers, after an apostrophe.
const SQL_COMMENT_BYPASS = String.raw`^[\w.@+-]*['"]\)*\s*(?:--|#|/\*)`;

// XSS beyond libinjection.
// Script tags, also split ones (<scr<script>ipt>), and event-handler attributes newer than
// libinjection's list (onbegin, onpageshow).
const XSS_TAG = String.raw`<\s*/?\s*script\b|<[a-z][\w:-]*[\s/][^>]*\bon[a-z]{4,}\s*=`;
// Breaking out of a JavaScript string into a call: ";alert(1)// and '-alert(1)-'.
const XSS_JS_BREAKOUT = String.raw`['"]\s*[-+*/;,)|&^]+\s*(?:alert|prompt|confirm|eval|print|fetch)\s*[(\x60]`;
// A value that is itself a script URL (redirect=javascript:...). The scheme must be followed
// directly by code, so the book title "JavaScript: The Good Parts" is not one.
const XSS_SCRIPT_URL = String.raw`^[\s\x00]*(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:\S|^\s*data:\s*(?:text/html|(?:text|application)/(?:x-)?javascript)`;

// Path traversal. A dot-dot segment: "..", also "...." that naive filters collapse to "..",
// and the Tomcat path-parameter bypass "..;/".
const DOTDOT = String.raw`\.{2,}(?:;[^\\/]*)?`;
// In the path, any dot-dot segment: browsers resolve them before sending, so only tools and
// attackers put one on the wire.
const TRAVERSAL_IN_PATH = String.raw`(?:^|[\\/])${DOTDOT}(?:[\\/]|$)`;
// In a value, a dot-dot step at its start or after a separator ("../../x", "img/../../x"); a
// "../" inside prose ("what does ../ mean") follows a space and is not one.
const TRAVERSAL_IN_VALUE = String.raw`(?:^\s*|[\\/])${DOTDOT}[\\/]`;
// A value that is a sensitive system file by absolute path (page=/etc/passwd). Only a whole
// value without spaces: the search "/etc/passwd file format" is not one.
const SENSITIVE_FILE = String.raw`^\s*(?:file:/*)?(?:[a-z]:)?[\\/]+(?:[^\s\\/]+[\\/]+)*?(?:etc[\\/]+(?:passwd|shadow|group|hosts|sudoers|issue|crontab|fstab|hostname)|proc[\\/]+self[\\/]|windows[\\/]+(?:win\.ini|system\.ini|system32)|boot\.ini|winnt[\\/]|\.ssh[\\/]|\.aws[\\/]|web-inf[\\/])\S*$`;
// PHP stream wrappers that read local files (php://filter/.../resource=index.php).
const FILE_WRAPPER = String.raw`^\s*(?:php|phar|zip|expect|glob)://`;
// NUL bytes ("..%00/") are dropped by the C file APIs they target, and look-alikes such as
// fullwidth "．．／" fold to "../" under Unicode normalisation: both before matching.
const TRAVERSAL_TRANSFORMERS = ['remove_nulls', 'unicode_normalize'];

// Command injection: a command separator, then a command an attacker runs to prove or use the
// injection. Words that are also English ("cat", "ping", "sleep") count only with a
// shell-shaped argument after them, so "Tom & Jerry; cat videos" stays prose.
const SEP = String.raw`(?:[;|&\n\r\x60]|\$\()`;
const GAP = String.raw`[\s'"({\x00]*(?:\$\{?IFS\}?)?(?:(?:/[\w.-]+)*/)?`;
const SP = String.raw`(?:[\s,<]|\$\{?IFS\}?(?:\$9)?)+`;
const END = String.raw`(?:\s*(?:$|[;|&#\x60)'"\n])|${SP}-[a-z])`;
const COMMANDS = [
  String.raw`(?:whoami|uname|ifconfig|ipconfig|netstat|systeminfo|printenv|getent|busybox|certutil|bitsadmin|wmic|mkfifo|socat|telnet|tftp|nohup|powershell|pwsh)\b`,
  String.raw`(?:id|ls|pwd|env|set|ver)${END}`,
  String.raw`dir(?:${END}|${SP}[a-z]:)`,
  String.raw`(?:cat|head|tail|more|less|tac|nl|strings|type|od|xxd)${SP}(?:-[a-z]+${SP})*(?:[a-z]:)?[\\/~.$]`,
  String.raw`(?:curl|wget)${SP}(?:-\S+${SP})*(?:https?:|ftp:|\d{1,3}\.\d|[\w-]+\.[a-z]{2,}|\$)`,
  String.raw`(?:nc|ncat|netcat)${SP}(?:-[a-z]+${SP})*(?:-[elc]\b|[\w.-]+${SP}\d{2,5}\b)`,
  String.raw`ping${SP}(?:-[a-z]+${SP}\d+${SP})*(?:\d{1,3}\.\d|[\w-]+\.[\w.-]+|localhost|\$)`,
  String.raw`(?:sleep|timeout)${SP}(?:/t${SP})?\d`,
  String.raw`(?:nslookup|dig)${SP}[\w-]+\.[\w.-]+`,
  String.raw`(?:ba|z|k|da|c|tc)?sh${SP}-[a-z]*[ic]\b`,
  String.raw`(?:python[23]?|perl|ruby|php|node|lua)${SP}-[a-z]*[cer]\b`,
  String.raw`rm${SP}-[a-z]*[rf]`,
  String.raw`(?:chmod|chown)${SP}(?:[0-7]{3,4}|[ugoa]*[-+=][rwxst]+)\b`,
  String.raw`echo${SP}[^;|&\n]*(?:>|\|)`,
  String.raw`net${SP}(?:user|localgroup|view|share|use|group)\b`,
  String.raw`cmd(?:\.exe)?${SP}/[ck]\b`,
  String.raw`base64${SP}-[a-z]*d|kill${SP}-9|sudo${SP}\S`,
];
const SHELL_COMMAND = String.raw`${SEP}${GAP}(?:${anyOf(...COMMANDS)})`;
// Shellshock ("() { :; }; cmd"), the ${IFS} space substitute and bash's network redirections
// have no benign reading.
const SHELL_SIGNATURE = String.raw`^\s*\(\s*\)\s*\{|\$\{IFS\}|/dev/(?:tcp|udp)/`;

export const SHIELD_RULESET: {
  version: '2.1';
  metadata: { rules_version: string };
  rules: WafRule[];
} = {
  version: '2.1',
  metadata: { rules_version: '1.0.0' },
  rules: [
    // libinjection tokenises the value as SQL and matches the token fingerprint against
    // known injection shapes; prose such as "select a size" has no such shape.
    rule('sqli-libinjection', 'sql_injection', {
      operator: 'is_sqli',
      parameters: { inputs: ON_TEXT },
    }),
    regex('sqli-patterns', 'sql_injection', ON_TEXT, anyOf(SQL_TIME_PROBE, SQL_COMMENT_BYPASS)),
    // libinjection parses the value as HTML and flags tags, attributes and event handlers
    // that run script.
    rule('xss-libinjection', 'xss', { operator: 'is_xss', parameters: { inputs: ON_TEXT } }),
    regex('xss-patterns', 'xss', ON_TEXT, anyOf(XSS_TAG, XSS_JS_BREAKOUT)),
    // Entities decoded first: "&#106;avascript:" is a script URL to the browser.
    regex('xss-script-url', 'xss', ON_VALUES, XSS_SCRIPT_URL, [
      'html_entity_decode',
      'remove_nulls',
    ]),
    regex('traversal-path', 'path_traversal', ON_PATH, TRAVERSAL_IN_PATH, TRAVERSAL_TRANSFORMERS),
    regex(
      'traversal-value',
      'path_traversal',
      ON_VALUES,
      anyOf(TRAVERSAL_IN_VALUE, SENSITIVE_FILE, FILE_WRAPPER),
      TRAVERSAL_TRANSFORMERS,
    ),
    regex('cmdi-patterns', 'command_injection', ON_TEXT, anyOf(SHELL_COMMAND, SHELL_SIGNATURE), [
      'remove_nulls',
    ]),
    // Scanners name themselves in the user agent; matched as whole words, case-insensitive.
    rule(
      'scanner-user-agent',
      'scanner',
      {
        operator: 'phrase_match',
        parameters: {
          inputs: [{ address: ADDRESS.userAgent }],
          list: [
            'sqlmap',
            'nikto',
            'nmap',
            'masscan',
            'zgrab',
            'nuclei',
            'acunetix',
            'wpscan',
            'dirbuster',
            'gobuster',
            'feroxbuster',
            'ffuf',
            'fuzz faster u fool',
            'wfuzz',
            'hydra',
            'w3af',
            'openvas',
            'nessus',
            'jaeles',
            'whatweb',
            'netsparker',
            'arachni',
            'skipfish',
            'commix',
            'havij',
            'zmeu',
            'morfeus',
            'sf/2.10b',
            'censysinspect',
            'expanse, a palo alto networks company',
            'internetmeasurement',
            'l9explore',
          ],
          options: { enforce_word_boundary: true },
        },
      },
      ['lowercase'],
    ),
  ],
};

// ---------------------------------------------------------------------------------------------
// The detector
// ---------------------------------------------------------------------------------------------

/** libddwaf limits: longer strings are cut, bigger containers truncated, silently. */
const MAX_STRING_BYTES = 4095;
const MAX_CONTAINER = 256;
/** Chunk sizes in UTF-16 units: ASCII text is one byte per unit, anything else at most three. */
const ASCII_CHUNK = 4000;
const WIDE_CHUNK = 1360;
/** Chunks overlap so a payload of up to this many characters is whole in one of them. */
const CHUNK_OVERLAP = 512;
/**
 * Run budget in microseconds. libddwaf measures it on the wall clock, so a run can also time out
 * because the process was not scheduled (a loaded host), not only because the input is costly:
 * a run that timed out is repeated once, in a fresh context. If that one times out too, what
 * matched so far counts; with no match, detect() throws ShieldTimeoutError, which the engine turns
 * into ALLOW with reason RULE_ERROR, like any failed rule: fail open, but never recorded as
 * inspected and clean.
 */
const RUN_TIMEOUT_US = 20_000;
const RUN_ATTEMPTS = 2;

/**
 * Splits a value libddwaf would truncate into overlapping chunks. Later chunks start with
 * "x " so the value-anchored rules (^...) do not read a chunk boundary as the value's start.
 */
function pushChunked(into: string[], value: string) {
  if (value.length <= WIDE_CHUNK || Buffer.byteLength(value) <= MAX_STRING_BYTES) {
    into.push(value);
    return;
  }
  const size = Buffer.byteLength(value) === value.length ? ASCII_CHUNK : WIDE_CHUNK;
  const step = size - CHUNK_OVERLAP;
  for (let start = 0; start < value.length; start += step) {
    const width = start === 0 ? size : size - 2;
    const chunk = value.slice(start, start + width);
    into.push(start === 0 ? chunk : `x ${chunk}`);
    if (start + width >= value.length) break;
  }
}

/** A list as libddwaf accepts it: at most 256 entries per array, nested when longer. */
function toContainer(values: string[]): string[] | string[][] {
  const chunked: string[] = [];
  for (const value of values) pushChunked(chunked, value);
  if (chunked.length <= MAX_CONTAINER) return chunked;
  const groups: string[][] = [];
  for (let i = 0; i < chunked.length && groups.length < MAX_CONTAINER; i += MAX_CONTAINER) {
    groups.push(chunked.slice(i, i + MAX_CONTAINER));
  }
  return groups;
}

/**
 * Headers only scanners send (Acunetix, Netsparker, WebInspect). Checked here rather
 * than in libddwaf: a set lookup per name is cheaper than converting every header name for it.
 */
export const SCANNER_HEADERS: ReadonlySet<string> = new Set([
  'acunetix-aspect',
  'acunetix-aspect-password',
  'acunetix-aspect-queries',
  'acunetix-product',
  'acunetix-scanning-agreement',
  'acunetix-user-agreement',
  'x-request-memo',
  'x-requestmanager-memo',
  'x-scan-memo',
  'x-scanner',
  'x-wipp',
]);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const ATTACKS: ReadonlySet<string> = new Set(SHIELD_ATTACKS);
const isAttack = (v: unknown): v is ShieldAttack => typeof v === 'string' && ATTACKS.has(v);

/** The attack class an event (libddwaf's events.json schema) reports, from our rule's tags. */
function attackOf(event: unknown): ShieldAttack | undefined {
  if (!isRecord(event) || !isRecord(event.rule) || !isRecord(event.rule.tags)) return undefined;
  const type = event.rule.tags.type;
  return isAttack(type) ? type : undefined;
}

/** The classes found in the path, query and header values (all but scanner). */
const TEXT_ATTACKS: readonly ShieldAttack[] = [
  'sql_injection',
  'xss',
  'path_traversal',
  'command_injection',
];
const wantsText = (want: ReadonlySet<ShieldAttack>) => TEXT_ATTACKS.some((a) => want.has(a));

/** Every run of one detection ran out of its budget before finding anything. */
export class ShieldTimeoutError extends Error {
  constructor(attempts: number, budgetUs: number) {
    super(`shield inspection timed out ${attempts} times (budget ${budgetUs} µs each)`);
    this.name = 'ShieldTimeoutError';
  }
}

/** The part of a libddwaf context the detector uses. */
export interface WafContext {
  readonly disposed: boolean;
  run(
    payload: { ephemeral: Record<string, unknown> },
    timeoutUs: number,
  ): { timeout: boolean; events?: unknown[] };
  dispose(): void;
}

/** The part of a libddwaf handle (DDWAF) the detector uses; tests wrap a real one. */
export interface WafHandle {
  readonly disposed: boolean;
  createContext(): WafContext;
  dispose(): void;
}

/** A libddwaf handle with the shield ruleset; throws unless every rule loaded. */
export function createShieldWaf(): WafHandle {
  const waf = new DDWAF(SHIELD_RULESET, 'bulwark/shield');
  const loaded = waf.diagnostics.rules;
  if (!loaded || 'error' in loaded || loaded.failed.length > 0) {
    waf.dispose();
    throw new Error(`shield ruleset did not load: ${JSON.stringify(loaded)}`);
  }
  return waf;
}

/**
 * libddwaf (Datadog's WAF library, with libinjection) loaded with the ruleset above. One
 * instance per process: the ruleset compiles once (regexes, Aho-Corasick) and is read-only, so
 * it is shared by every shield rule. Each detection uses its own context, disposed before
 * returning, so no per-request native memory outlives the call.
 */
export class ShieldDetector {
  private static instance: ShieldDetector | undefined;

  /** The process-wide detector, created on first use. */
  static shared(): ShieldDetector {
    if (!ShieldDetector.instance || ShieldDetector.instance.waf.disposed) {
      ShieldDetector.instance = new ShieldDetector();
    }
    return ShieldDetector.instance;
  }

  constructor(private readonly waf: WafHandle = createShieldWaf()) {}

  /**
   * The attack classes found in the inputs, among those asked for. Addresses whose classes are
   * not asked for are not sent: a scanner-only rule costs one short string.
   */
  detect(inputs: ShieldInputs, want: ReadonlySet<ShieldAttack>): Set<ShieldAttack> {
    const found = new Set<ShieldAttack>();
    const payload: Partial<Record<Address, string | string[] | string[][]>> = {};
    if (wantsText(want)) {
      if (inputs.path.length > 0) payload[ADDRESS.path] = toContainer(inputs.path);
      if (inputs.values.length > 0) payload[ADDRESS.values] = toContainer(inputs.values);
    }
    if (want.has('scanner')) {
      if (inputs.headerNames.some((name) => SCANNER_HEADERS.has(name))) {
        found.add('scanner');
        // Scanner comes last in precedence: with no other class asked for, nothing can outrank it.
        if (!wantsText(want)) return found;
      }
      if (inputs.userAgent !== '') payload[ADDRESS.userAgent] = toContainer([inputs.userAgent]);
    }
    if (Object.keys(payload).length === 0) return found;
    for (let attempt = 1; ; attempt++) {
      const context = this.waf.createContext();
      let timedOut: boolean;
      try {
        const result = context.run({ ephemeral: payload }, RUN_TIMEOUT_US);
        for (const event of result.events ?? []) {
          const attack = attackOf(event);
          if (attack && want.has(attack)) found.add(attack);
        }
        timedOut = result.timeout;
      } finally {
        context.dispose();
      }
      if (!timedOut || found.size > 0) return found;
      if (attempt >= RUN_ATTEMPTS) throw new ShieldTimeoutError(RUN_ATTEMPTS, RUN_TIMEOUT_US);
    }
  }

  /** Frees the native ruleset; shared() creates a new one if called again. */
  dispose(): void {
    if (!this.waf.disposed) this.waf.dispose();
  }
}

/**
 * The shield rule: denies requests whose path, query or headers carry SQL injection, XSS,
 * path traversal or command injection, or whose user agent is a vulnerability scanner, for the
 * classes its config enables. When several are found, the first in SHIELD_ATTACKS order is the
 * reason, whatever the order of the config, so the same request always gets the same reason.
 */
export class ShieldRule implements RuleEvaluator {
  private readonly want: ReadonlySet<ShieldAttack>;
  private readonly text: boolean;

  constructor(
    config: ShieldRuleConfig,
    private readonly detector: ShieldDetector = ShieldDetector.shared(),
  ) {
    this.want = new Set(config.detect);
    this.text = wantsText(this.want);
  }

  /** Synchronous: one libddwaf run over the whole request. */
  evaluate(facts: RequestFacts, enrichment: Enrichment): RuleVerdict {
    const inputs = collectShieldInputs(facts, enrichment, this.text);
    const found = this.detector.detect(inputs, this.want);
    for (const attack of SHIELD_ATTACKS) if (found.has(attack)) return DENIED[attack];
    return ALLOWED;
  }
}
