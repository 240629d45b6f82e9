import request from 'supertest';
import { startApp, TestApp } from '../support/app';
import { formatsIn, OPENAPI_FORMATS } from '../support/json-schema-formats';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

/**
 * The served OpenAPI document says what each route really answers: its success status with the
 * body's schema, and the RFC 9457 problem documents it can give, so a generated client handles
 * both without guessing.
 */
describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await startApp('pglite');
    doc = (await request(t.url).get('/docs/openapi.json').expect(200)).body as OpenApiDocument;
  }, 60_000);
  afterAll(() => t?.close());

  const responses = (method: string, path: string) => doc.paths[path][method].responses;
  const problemRef = (answer: Operation['responses'][string] | undefined) =>
    answer?.content?.['application/problem+json']?.schema?.$ref;

  it('POST /v1/decide, served ahead of Nest, lists its problem documents too', () => {
    const answers = responses('post', '/v1/decide');
    for (const status of ['400', '401', '413', '415']) {
      expect({ status, schema: problemRef(answers[status]) }).toEqual({
        status,
        schema: '#/components/schemas/Problem',
      });
    }
  });

  it.each([
    ['get', '/v1/teams', '200', ['400', '401', '403']],
    ['post', '/v1/teams', '201', ['400', '401', '403', '413', '415']],
    ['get', '/v1/teams/{teamId}', '200', ['400', '401', '403', '404']],
    ['post', '/v1/teams/{teamId}/members', '201', ['400', '401', '403', '404', '409']],
    ['delete', '/v1/sites/{siteId}', '204', ['400', '401', '403', '404']],
    ['post', '/v1/sites/{siteId}/rules', '201', ['400', '401', '403', '404', '409', '413']],
    ['post', '/v1/rules/{ruleId}/promote', '200', ['400', '401', '403', '404']],
    ['get', '/v1/sites/{siteId}/decisions', '200', ['400', '401', '403', '404']],
    ['get', '/v1/sites/{siteId}/analytics/traffic', '200', ['400', '401', '403', '404']],
  ])('%s %s answers %s and lists its problem documents', (method, path, success, problems) => {
    const answers = responses(method, path);
    expect(answers).not.toHaveProperty('default');
    expect(answers).toHaveProperty(success);
    if (success === '204') {
      expect(answers[success].content).toBeUndefined();
    } else {
      expect(answers[success].content?.['application/json']?.schema?.$ref).toMatch(
        /^#\/components\/schemas\//,
      );
    }
    for (const status of problems) {
      expect({ status, schema: problemRef(answers[status]) }).toEqual({
        status,
        schema: '#/components/schemas/Problem',
      });
    }
  });

  it('lists 404 only where a path names a resource, 409 only where something can conflict', () => {
    expect(responses('get', '/v1/teams')).not.toHaveProperty('404');
    expect(responses('get', '/v1/teams/{teamId}')).not.toHaveProperty('409');
    expect(responses('get', '/v1/teams/{teamId}')).not.toHaveProperty('413');
  });

  it('describes the problem document the errors carry (RFC 9457)', () => {
    expect(Object.keys(doc.components.schemas.Problem.properties ?? {})).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'errors']),
    );
  });

  it('uses only standard formats in its schemas', () => {
    const odd = formatsIn(doc)
      .filter(({ format }) => !OPENAPI_FORMATS.includes(format))
      .map(({ at, format }) => `${at}: ${format}`);
    expect(odd).toEqual([]);
  });
});
