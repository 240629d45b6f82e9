import { createServer } from 'node:http';
import { importJWK, JWK, jwtVerify } from 'jose';
import { CEILING_BODY, MCP_AUDIENCE } from '../protocol';
import { runChild } from './child';
import { bearer, closeServer, listen, Running } from './running';

/**
 * The ceiling: plain node:http that verifies the same token with jose's jwtVerify against the
 * issuer's ES256 public key on every request (no cache) and answers a fixed small JSON body.
 */
export async function startCeiling(issuer: string): Promise<Running> {
  const meta = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as {
    jwks_uri: string;
  };
  const { keys } = (await (await fetch(meta.jwks_uri)).json()) as { keys: JWK[] };
  const key = await importJWK(keys[0], 'ES256');
  const options = {
    issuer,
    audience: MCP_AUDIENCE,
    algorithms: ['ES256'],
    requiredClaims: ['exp', 'sub'],
  };

  const http = createServer((req, res) => {
    // The request body is read (and dropped) like any server would before answering.
    req.resume();
    req.on('end', () => {
      const token = bearer(req.headers.authorization);
      jwtVerify(token ?? '', key, options).then(
        () => {
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(CEILING_BODY),
          });
          res.end(CEILING_BODY);
        },
        () => {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"error":"unauthorized"}');
        },
      );
    });
  });
  const port = await listen(http);
  return { port, close: () => closeServer(http) };
}

runChild('ceiling', ({ issuer }) => startCeiling(issuer));
