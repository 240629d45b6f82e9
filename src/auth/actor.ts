/**
 * The verified caller of an operation, built from an access token by the authentication guard
 * and passed explicitly to every service method, so each interface (REST, MCP, CLI) gets the
 * same authorization checks.
 */
export interface Actor {
  /** OAuth `sub` of the person. */
  subject: string;
  /** Present only when the token says the e-mail is verified; used to match invitations. */
  email?: string;
  /** OAuth client the person signed in through (an agent, a script), recorded in the audit log. */
  clientId?: string;
  scopes: readonly string[];
  /** The interface the call came through, recorded in the audit log. */
  via: 'rest' | 'mcp' | 'cli';
}
