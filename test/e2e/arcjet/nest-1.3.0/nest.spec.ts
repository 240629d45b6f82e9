import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  ArcjetGuard,
  ArcjetModule,
  createRemoteClient,
  fixedWindow,
  shield,
  WithArcjetRules,
} from '@arcjet/nest';
import request from 'supertest';
import { ArcjetServer } from '../../../../src/arcjet/arcjet.server';
import { startApp, TestApp } from '../../../support/app';
import { as, flushDecisions, siteFor } from '../../../support/decide';

jest.setTimeout(60_000);

@Controller()
class ShopController {
  @Get('products')
  products() {
    return { products: ['lamp'] };
  }

  @WithArcjetRules([fixedWindow({ mode: 'LIVE', window: '1m', max: 1 })])
  @Get('checkout')
  checkout() {
    return { ok: true };
  }
}

/** A small Nest app protected the way @arcjet/nest documents, its decisions made by Bulwark. */
async function protectedNestApp(key: string, baseUrl: string): Promise<INestApplication> {
  @Module({
    imports: [
      ArcjetModule.forRoot({
        isGlobal: true,
        key,
        rules: [shield({ mode: 'LIVE' })],
        client: createRemoteClient({ baseUrl, timeout: 5_000 }),
        log: { debug() {}, info() {}, warn() {}, error() {} },
      }),
    ],
    controllers: [ShopController],
    providers: [{ provide: APP_GUARD, useClass: ArcjetGuard }],
  })
  class ShopModule {}
  const app = await NestFactory.create(ShopModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

describe('@arcjet/nest 1.3.0 against Bulwark', () => {
  let t: TestApp;
  let owner: Awaited<ReturnType<typeof siteFor>>;
  let shop: INestApplication;
  let url: string;
  const previousEnv = process.env.ARCJET_ENV;

  beforeAll(async () => {
    // Development mode lets the test give the client address (X-Arcjet-IP) on loopback.
    process.env.ARCJET_ENV = 'development';
    t = await startApp('pglite');
    owner = await siteFor(t, 'alice');
    const port = t.app.get(ArcjetServer).address()!.port;
    shop = await protectedNestApp(owner.key, `http://127.0.0.1:${port}`);
    url = await shop.getUrl();
  }, 60_000);
  afterAll(async () => {
    await shop?.close();
    await t?.close();
    process.env.ARCJET_ENV = previousEnv;
  });

  const get = (path: string) =>
    request(url)
      .get(path)
      .set('X-Arcjet-IP', '80.128.0.1')
      .set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0');

  it('lets a benign request through and records it with Bulwark’s intelligence', async () => {
    await get('/products').expect(200, { products: ['lamp'] });
    await flushDecisions(t);
    const page = (
      await request(t.url)
        .get(`/v1/sites/${owner.siteId}/decisions?pathPrefix=/products`)
        .set(as(owner.token))
        .expect(200)
    ).body as { items: { conclusion: string; enrichment: { country: string } }[] };
    expect(page.items[0]).toMatchObject({ conclusion: 'ALLOW', enrichment: { country: 'DE' } });
  });

  it('refuses SQL injection (shield, decided by Bulwark)', async () => {
    await get("/products?id=1'%20OR%20'1'='1'%20--").expect(403);
  });

  it('applies a route’s own rate limit from @WithArcjetRules', async () => {
    await get('/checkout').expect(200);
    await get('/checkout').expect(403);
  });
});
