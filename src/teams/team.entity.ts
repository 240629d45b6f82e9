import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { TeamId } from '../common/ids';

export const PLANS = {
  free: { monthlyRequestQuota: 100_000 },
  pro: { monthlyRequestQuota: 10_000_000 },
  enterprise: { monthlyRequestQuota: 1_000_000_000 },
} as const;
export type Plan = keyof typeof PLANS;

@Entity('teams')
export class TeamEntity {
  @PrimaryColumn('text')
  id!: TeamId;

  @Column('text')
  name!: string;

  @Column('text')
  plan!: Plan;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
