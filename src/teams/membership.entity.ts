import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { MemberId, TeamId } from '../common/ids';
import type { Role } from '../auth/permissions';

/**
 * A person's role in a team. A membership names its person by OAuth subject, or, for someone
 * invited before they ever signed in, by e-mail only; the subject is filled in when a token with
 * that verified e-mail first reaches the team.
 */
@Entity('memberships')
export class MembershipEntity {
  @PrimaryColumn('text')
  id!: MemberId;

  @Column('text', { name: 'team_id' })
  teamId!: TeamId;

  @Column('text', { nullable: true })
  subject!: string | null;

  @Column('text', { nullable: true })
  email!: string | null;

  @Column('text')
  role!: Role;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
