import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { RuleId, SiteId } from '../common/ids';
import type { RuleMode, RuleType } from './rules.schemas';

@Entity('rules')
export class RuleEntity {
  @PrimaryColumn('text')
  id!: RuleId;

  @Column('text', { name: 'site_id' })
  siteId!: SiteId;

  @Column('text')
  name!: string;

  @Column('text')
  type!: RuleType;

  @Column('text')
  mode!: RuleMode;

  @Column('jsonb')
  config!: object;

  @Column('text', { name: 'created_by' })
  createdBy!: string;

  @Column('text', { name: 'updated_by' })
  updatedBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
