import type { Context } from 'koa';
import { AppError } from '../errors.ts';

/** Posted values as the console's forms send them. */
const body = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;

/** One text field; absent or repeated reads as empty. */
export function text(ctx: Context, name: string): string {
  const value = body(ctx)[name];
  return typeof value === 'string' ? value : '';
}

/** A field that may repeat (checkboxes with one name): every value, as strings. */
export function values(ctx: Context, name: string): string[] {
  const value = body(ctx)[name];
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return all.filter((v): v is string => typeof v === 'string');
}

/** A textarea with one entry per line: the non-empty lines, trimmed. */
export function lines(ctx: Context, name: string): string[] {
  return text(ctx, name)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * Runs an action; a refusal the admin can fix (bad input, a conflict, an unknown role) shows the
 * form again with the reason instead of an error page. Anything else goes to the error boundary.
 */
export async function orShowAgain(
  action: () => Promise<void>,
  showAgain: (error: string, status: number) => Promise<void>,
): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof AppError && err.status < 500 && err.code !== 'forbidden') {
      return showAgain(err.message, err.status);
    }
    throw err;
  }
}

/** `?page=` as a 1-based page number, within reason. */
export function pageNumber(ctx: Context): number {
  const n = Number(ctx.query.page ?? 1);
  return Number.isInteger(n) && n >= 1 && n <= 20_000 ? n : 1;
}
