import type { z } from 'zod';
import { AppError } from './errors.ts';

/** Parses `input` or throws an `invalid_input` AppError naming the first bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = (issue?.path ?? [])
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`))
    .join('');
  const where = path ? `${path}: ` : '';
  throw new AppError('invalid_input', `${where}${issue?.message ?? 'invalid input'}`);
}
