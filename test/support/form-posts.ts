import { randomBytes } from 'node:crypto';
import type { APIResponse, BrowserContext, Page } from 'playwright-core';

/**
 * Form posts as a browser makes them, for bursts a person clicking could not produce: the posts go
 * through the browser context's own request client, so they carry its cookies (session,
 * interaction, CSRF) like the page's would, and are not followed past their redirect. Without a
 * browser at all, form-client.ts posts the forms instead.
 */

/** The CSRF token in the forms of the page the browser shows. */
export async function csrfOf(page: Page): Promise<string> {
  const token = await page.locator('input[name="csrf"]').first().getAttribute('value');
  if (!token) throw new Error(`no CSRF token on ${page.url()}`);
  return token;
}

/**
 * Posts `fields` to `url` with the context's cookies, from `address` when given (as
 * X-Forwarded-For: the server must run with TRUST_PROXY).
 */
export function postForm(
  context: BrowserContext,
  url: string,
  fields: Record<string, string>,
  address?: string,
): Promise<APIResponse> {
  return context.request.post(url, {
    form: fields,
    headers: address ? { 'x-forwarded-for': address } : {},
    maxRedirects: 0,
  });
}

/** An address of its own (2001:db8::/32, kept for documentation), so no count on it exists yet. */
export function newAddress(): string {
  const groups = randomBytes(12).toString('hex').match(/.{4}/g) ?? [];
  return `2001:db8:${groups.join(':')}`;
}
