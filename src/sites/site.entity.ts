import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { SiteId, TeamId } from '../common/ids';

@Entity('sites')
export class SiteEntity {
  @PrimaryColumn('text')
  id!: SiteId;

  @Column('text', { name: 'team_id' })
  teamId!: TeamId;

  @Column('text')
  name!: string;

  @Column('text')
  domain!: string;

  /** SHA-256 of the site key: the decide API finds the site by it without decrypting anything. */
  @Column('text', { name: 'key_hash' })
  keyHash!: string;

  /** The site key under AES-256-GCM, so key managers can read it again. */
  @Column('text', { name: 'key_ciphertext' })
  keyCiphertext!: string;

  @Column('text', { name: 'key_last4' })
  keyLast4!: string;

  @Column('timestamptz', { name: 'key_rotated_at' })
  keyRotatedAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
