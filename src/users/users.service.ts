import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConflictError, NotFoundError } from '../common/errors';
import { newId, UserId } from '../common/ids';
import { parseInput } from '../common/validation';
import { dummyHash, hashPassword, verifyPassword } from './passwords';
import { UserEntity } from './user.entity';
import { CreateUserInput, Email, ResetPasswordInput, UserView } from './users.schemas';

const LISTED_BY = 'Run `bulwark users list` to see the local users.';

/**
 * Local users of the built-in authorization server. Managed by operators from the command line
 * (there is no self-service sign-up), so these methods take no actor: whoever can run the CLI on
 * the data directory already owns the installation.
 */
@Injectable()
export class UsersService {
  constructor(private readonly dataSource: DataSource) {}

  async create(input: unknown): Promise<UserView> {
    const { email, password } = parseInput(CreateUserInput, input);
    const passwordHash = await hashPassword(password);
    const repo = this.dataSource.getRepository(UserEntity);
    if (await this.findByEmail(email)) throw duplicate(email);
    try {
      return toView(await repo.save(repo.create({ id: newId('user'), email, passwordHash })));
    } catch (error) {
      // Two creations racing: the unique index decides, and the loser gets the same answer.
      if ((error as { code?: string }).code === '23505') throw duplicate(email);
      throw error;
    }
  }

  async list(): Promise<UserView[]> {
    const users = await this.dataSource
      .getRepository(UserEntity)
      .find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return users.map(toView);
  }

  async count(): Promise<number> {
    return this.dataSource.getRepository(UserEntity).count();
  }

  /**
   * Sets a new password and signs the user out everywhere: sessions, grants and refresh tokens
   * of the built-in authorization server go in the same transaction, because a password reset
   * usually means the old one leaked.
   */
  async resetPassword(input: unknown): Promise<UserView> {
    const { email, password } = parseInput(ResetPasswordInput, input);
    const passwordHash = await hashPassword(password);
    return this.dataSource.transaction(async (tx) => {
      const user = await tx
        .getRepository(UserEntity)
        .createQueryBuilder('u')
        .where('lower(u.email) = :email', { email })
        .setLock('pessimistic_write')
        .getOne();
      if (!user) throw new NotFoundError('user', email, LISTED_BY, 'e-mail');
      user.passwordHash = passwordHash;
      user.passwordChangedAt = new Date();
      await tx.getRepository(UserEntity).save(user);
      await tx.query(`DELETE FROM oauth_records WHERE payload->>'accountId' = $1`, [user.id]);
      return toView(user);
    });
  }

  /** The user whose e-mail and password match, or undefined; as slow for unknown e-mails. */
  async authenticate(email: string, password: string): Promise<UserView | undefined> {
    const parsed = Email.safeParse(email);
    const user = parsed.success ? await this.findByEmail(parsed.data) : undefined;
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    return user && ok ? toView(user) : undefined;
  }

  async findById(id: string): Promise<UserView | undefined> {
    const user = await this.dataSource.getRepository(UserEntity).findOneBy({ id: id as UserId });
    return user ? toView(user) : undefined;
  }

  async requireByEmail(email: string): Promise<UserView> {
    const parsed = parseInput(Email, email, 'email');
    const user = await this.findByEmail(parsed);
    if (!user) throw new NotFoundError('user', parsed, LISTED_BY, 'e-mail');
    return toView(user);
  }

  private findByEmail(email: string): Promise<UserEntity | null> {
    return this.dataSource
      .getRepository(UserEntity)
      .createQueryBuilder('u')
      .where('lower(u.email) = :email', { email })
      .getOne();
  }
}

function duplicate(email: string): ConflictError {
  return new ConflictError(
    `A user with e-mail ${email} already exists. Use \`bulwark users reset-password --email ${email}\` to change its password.`,
  );
}

function toView(user: UserEntity): UserView {
  return {
    id: user.id,
    email: user.email,
    createdAt: user.createdAt.toISOString(),
    passwordChangedAt: user.passwordChangedAt.toISOString(),
  };
}
