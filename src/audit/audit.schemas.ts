import { z } from 'zod';
import { pageSchema } from '../common/pagination';

export const AuditEntryView = z.object({
  id: z.string().describe('Audit entry id (audit_...).'),
  teamId: z.string(),
  actor: z.object({
    subject: z.string().describe('OAuth subject of the person who made the change.'),
    email: z.string().nullable(),
    clientId: z
      .string()
      .nullable()
      .describe('OAuth client (agent or app) the change came through.'),
  }),
  via: z.enum(['rest', 'mcp', 'cli']).describe('Interface the change was made through.'),
  action: z.string().describe('What happened, such as rule.created or site.key.rotated.'),
  resourceType: z.enum(['team', 'member', 'site', 'rule']),
  resourceId: z.string(),
  before: z.record(z.string(), z.unknown()).nullable().describe('The resource before the change.'),
  after: z.record(z.string(), z.unknown()).nullable().describe('The resource after the change.'),
  createdAt: z.string().describe('ISO 8601 time of the change.'),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;
export const AuditPage = pageSchema(AuditEntryView);
