/**
 * Server-rendered pages of the built-in authorization server: login, consent and errors. Plain
 * HTML with labelled fields, no script. Every value shown is escaped: client names and redirect
 * URIs come from whoever registered the client.
 */

/** Security headers for every page: no framing (the consent button must not be clickjacked). */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on the
  // page's own form posts, which the cross-site check must refuse. Nothing leaks to the client.
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  // No script at all. form-action stays open: after login the flow redirects to the client.
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
} as const;

const SCOPE_TEXT: Record<string, string> = {
  'bulwark:read':
    'Read your teams, sites, rules, decisions and analytics (nothing can be changed).',
  'bulwark:write':
    'Change rules and sites: create, update, promote, demote and delete rules; rotate site keys.',
  offline_access: 'Stay connected: keep access without asking you again until you revoke it.',
  openid: 'Know your account id.',
  email: 'See your e-mail address.',
};

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Bulwark</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1b1f24; }
  main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
  h1 { font-size: 1.4rem; margin-top: 0; }
  label { display: block; font-weight: 600; margin-top: 1rem; }
  input[type=email], input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; font: inherit; border: 1px solid #8a939e; border-radius: 4px; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; font: inherit; border-radius: 4px; border: 1px solid #1f4fd6; background: #1f4fd6; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #1f4fd6; margin-left: .5rem; }
  button:focus-visible, input:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
  .error { background: #fdecea; border: 1px solid #d93025; padding: .75rem; border-radius: 4px; }
  .muted { color: #57606a; font-size: .9rem; }
  code { word-break: break-all; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

export function loginPage(opts: {
  action: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
}): string {
  return layout(
    'Sign in',
    `<h1>Sign in to Bulwark</h1>
<p><strong>${escapeHtml(opts.clientName)}</strong> wants to connect to your Bulwark account.</p>
${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ''}
<form method="post" action="${escapeHtml(opts.action)}">
  <input type="hidden" name="csrf" value="${escapeHtml(opts.csrf)}">
  <label for="email">E-mail</label>
  <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(opts.email ?? '')}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<p class="muted">Accounts are created by your Bulwark operator with <code>bulwark users create</code>.</p>`,
  );
}

export function consentPage(opts: {
  action: string;
  csrf: string;
  clientName: string;
  clientId: string;
  redirectUri?: string;
  email: string;
  scopes: string[];
  resource?: string;
}): string {
  const scopes = opts.scopes
    .map(
      (s) =>
        `<li><code>${escapeHtml(s)}</code>: ${escapeHtml(SCOPE_TEXT[s] ?? 'Access named by the application.')}</li>`,
    )
    .join('\n    ');
  return layout(
    'Allow access',
    `<h1>Allow <span id="client-name">${escapeHtml(opts.clientName)}</span> to use Bulwark?</h1>
<p>Signed in as <strong>${escapeHtml(opts.email)}</strong>.</p>
<section aria-labelledby="scopes-heading">
  <h2 id="scopes-heading" style="font-size:1.05rem">It asks for</h2>
  <ul id="scopes">
    ${scopes}
  </ul>
</section>
<p class="muted">Client id <code>${escapeHtml(opts.clientId)}</code>${opts.redirectUri ? `; you will be sent back to <code>${escapeHtml(opts.redirectUri)}</code>` : ''}${opts.resource ? `; access is for <code>${escapeHtml(opts.resource)}</code>` : ''}. The name above is chosen by the application itself: approve only if you started this connection.</p>
<form method="post" action="${escapeHtml(opts.action)}">
  <input type="hidden" name="csrf" value="${escapeHtml(opts.csrf)}">
  <button type="submit" name="decision" value="approve">Allow</button>
  <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  );
}

export function errorPage(error: string, description?: string): string {
  return layout(
    'Error',
    `<h1>Sign-in could not continue</h1>
<p class="error" role="alert"><code>${escapeHtml(error)}</code>${description ? `: ${escapeHtml(description)}` : ''}</p>
<p>Start the connection again from your application. If this keeps happening, ask your Bulwark operator to check the server log.</p>`,
  );
}
