import { z } from 'zod';
import { ROLES } from '../auth/permissions';
import { pageSchema } from '../common/pagination';
import { PLANS } from './team.entity';

const TeamName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .describe('Display name of the team, 1 to 100 characters.');

export const CreateTeamInput = z.strictObject({ name: TeamName });
export type CreateTeamInput = z.infer<typeof CreateTeamInput>;

export const RenameTeamInput = z.strictObject({ name: TeamName });
export type RenameTeamInput = z.infer<typeof RenameTeamInput>;

export const Role = z.enum(ROLES).describe('owner | admin | member | viewer');

export const AddMemberInput = z
  .strictObject({
    subject: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .optional()
      .describe('OAuth subject (sub claim) of the person; give this or email.'),
    email: z
      .email('must be an e-mail address such as ada@example.com')
      .max(254)
      .transform((e) => e.toLowerCase())
      .optional()
      .describe(
        'E-mail of the person; they join when they first sign in with this verified address. Give this or subject.',
      ),
    role: Role,
  })
  .refine((v) => (v.subject === undefined) !== (v.email === undefined), {
    message: 'give exactly one of subject or email',
    path: ['subject'],
  });
export type AddMemberInput = z.infer<typeof AddMemberInput>;

export const ChangeRoleInput = z.strictObject({ role: Role });
export type ChangeRoleInput = z.infer<typeof ChangeRoleInput>;

export const TeamView = z.object({
  id: z.string().describe('Team id (team_...).'),
  name: z.string(),
  plan: z.enum(Object.keys(PLANS) as [keyof typeof PLANS]),
  monthlyRequestQuota: z
    .number()
    .int()
    .describe('Decisions per calendar month included in the plan.'),
  role: Role.describe('Your role in this team.'),
  createdAt: z.string(),
});
export type TeamView = z.infer<typeof TeamView>;
export const TeamPage = pageSchema(TeamView);

export const MemberView = z.object({
  id: z.string().describe('Member id (member_...).'),
  teamId: z.string(),
  subject: z.string().nullable().describe('OAuth subject; null until an invited person signs in.'),
  email: z.string().nullable(),
  role: Role,
  pending: z
    .boolean()
    .describe('True while an e-mail invitation has not been claimed by a sign-in.'),
  createdAt: z.string(),
});
export type MemberView = z.infer<typeof MemberView>;
export const MemberPage = pageSchema(MemberView);
