import type { z } from 'zod';
import { AppError } from './errors.ts';
import { findNul } from './http/nul-bytes.ts';

/**
 * Parses `input` or throws an `invalid_input` AppError naming the first bad field. No string in
 * the input may hold a NUL character (the database cannot store one), whatever the schema says.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const nul = findNul(input);
  if (nul) throw invalid(nul, 'must not contain a NUL character');
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw invalid(issue?.path ?? [], issue?.message ?? 'invalid input');
}

function invalid(at: PropertyKey[], message: string): AppError {
  const path = at.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
  return new AppError('invalid_input', `${path ? `${path}: ` : ''}${message}`);
}
