import { z } from 'zod';

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: 'expected an e-mail address such as ops@example.com' }));

/** Long passphrases welcome; the upper bound only keeps hashing cheap to refuse. */
export const Password = z
  .string()
  .min(12, 'expected at least 12 characters')
  .max(1024, 'expected at most 1024 characters');

export const CreateUserInput = z.object({ email: Email, password: Password });
export type CreateUserInput = z.infer<typeof CreateUserInput>;

export const ResetPasswordInput = CreateUserInput;
export type ResetPasswordInput = CreateUserInput;

export const UserView = z.object({
  id: z.string(),
  email: z.string(),
  createdAt: z.string(),
  passwordChangedAt: z.string(),
});
export type UserView = z.infer<typeof UserView>;
