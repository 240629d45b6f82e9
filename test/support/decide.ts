import request from 'supertest';
import { DecisionWriter } from '../../src/analytics/decision-writer';
import { REST_AUDIENCE, TestApp } from './app';

export const as = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A team and a site owned by `subject`, with the site key. */
export async function siteFor(t: TestApp, subject: string) {
  const token = await t.issuer.token(subject, REST_AUDIENCE);
  const team = (
    await request(t.url).post('/v1/teams').set(as(token)).send({ name: 'Acme' }).expect(201)
  ).body as { id: string };
  const site = (
    await request(t.url)
      .post(`/v1/teams/${team.id}/sites`)
      .set(as(token))
      .send({ name: 'Shop', domain: 'shop.example.com' })
      .expect(201)
  ).body as { id: string; key: string };
  return { token, teamId: team.id, siteId: site.id, key: site.key };
}

/** A plain browser request, as a protected app would describe it. */
export function browserRequest(overrides: Record<string, unknown> = {}) {
  return {
    ip: '80.128.0.1',
    method: 'GET',
    protocol: 'HTTP/1.1',
    host: 'shop.example.com',
    path: '/products',
    query: 'page=2',
    headers: {
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
      accept: 'text/html',
    },
    ...overrides,
  };
}

export function decide(url: string, key: string, body: unknown) {
  return request(url)
    .post('/v1/decide')
    .set(as(key))
    .send(body as object);
}

/** Waits until every decision handed to the writer is in the analytics store. */
export function flushDecisions(t: TestApp): Promise<void> {
  return t.app.get(DecisionWriter).flush();
}

export async function createRule(t: TestApp, token: string, siteId: string, rule: object) {
  return (
    await request(t.url).post(`/v1/sites/${siteId}/rules`).set(as(token)).send(rule).expect(201)
  ).body as { id: string };
}
