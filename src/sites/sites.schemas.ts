import { z } from 'zod';
import { pageSchema } from '../common/pagination';

const SiteName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .describe('Display name of the site, 1 to 100 characters.');

const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$/,
    'must be a host name such as shop.example.com (no scheme or path)',
  )
  .describe('Host name the protected app serves, such as shop.example.com.');

export const CreateSiteInput = z.strictObject({ name: SiteName, domain: Domain });
export type CreateSiteInput = z.infer<typeof CreateSiteInput>;

export const UpdateSiteInput = z
  .strictObject({ name: SiteName.optional(), domain: Domain.optional() })
  .refine((v) => v.name !== undefined || v.domain !== undefined, {
    message: 'give at least one of name or domain',
    path: ['name'],
  });
export type UpdateSiteInput = z.infer<typeof UpdateSiteInput>;

export const SiteView = z.object({
  id: z.string().describe('Site id (site_...).'),
  teamId: z.string(),
  name: z.string(),
  domain: z.string(),
  keyHint: z.string().describe('Last four characters of the current site key, to tell keys apart.'),
  keyRotatedAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SiteView = z.infer<typeof SiteView>;
export const SitePage = pageSchema(SiteView);

export const SiteKeyView = z.object({
  siteId: z.string(),
  key: z
    .string()
    .describe(
      'The site key (bwk_...): a secret. The protected app sends it as "Authorization: Bearer <key>" to POST /v1/decide.',
    ),
  keyRotatedAt: z.string(),
});
export type SiteKeyView = z.infer<typeof SiteKeyView>;

export const CreatedSiteView = SiteView.extend({
  key: SiteKeyView.shape.key,
});
export type CreatedSiteView = z.infer<typeof CreatedSiteView>;
