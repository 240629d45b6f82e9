import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { UserId } from '../common/ids';

/** A local user of the built-in authorization server (embedded mode). */
@Entity('users')
export class UserEntity {
  @PrimaryColumn('text')
  id!: UserId;

  /** Stored as given, trimmed and lower-cased; unique regardless of case. */
  @Column('text')
  email!: string;

  /** `scrypt$N$r$p$salt$hash`, see passwords.ts. Never leaves UsersService. */
  @Column('text', { name: 'password_hash' })
  passwordHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'password_changed_at', default: () => 'now()' })
  passwordChangedAt!: Date;
}
