import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { AuditId, TeamId } from '../common/ids';

@Entity('audit_entries')
export class AuditEntryEntity {
  @PrimaryColumn('text')
  id!: AuditId;

  @Column('text', { name: 'team_id' })
  teamId!: TeamId;

  @Column('text', { name: 'actor_subject' })
  actorSubject!: string;

  @Column('text', { name: 'actor_email', nullable: true })
  actorEmail!: string | null;

  @Column('text', { name: 'client_id', nullable: true })
  clientId!: string | null;

  @Column('text')
  via!: 'rest' | 'mcp' | 'cli';

  @Column('text')
  action!: string;

  @Column('text', { name: 'resource_type' })
  resourceType!: string;

  @Column('text', { name: 'resource_id' })
  resourceId!: string;

  @Column('jsonb', { nullable: true })
  before!: object | null;

  @Column('jsonb', { nullable: true })
  after!: object | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
