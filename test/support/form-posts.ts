import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * Form posts as a browser makes them, for bursts a person clicking could not produce: the posts
 * carry the browser context's cookies (session, interaction, CSRF) like the page's would, and are
 * not followed past their redirect. Without a browser at all, form-client.ts posts the forms instead.
 */

/** The CSRF token in the forms of the page the browser shows. */
export async function csrfOf(page: Page): Promise<string> {
  const token = await page.locator('input[name="csrf"]').first().getAttribute('value');
  if (!token) throw new Error(`no CSRF token on ${page.url()}`);
  return token;
}

/** The Cookie header the context's browser would send to `url`. */
export async function cookieHeader(context: BrowserContext, url: string): Promise<string> {
  return (await context.cookies(url)).map((c) => `${c.name}=${c.value}`).join('; ');
}

/** A post's answer, read in full, in the shape of Playwright's responses. */
export interface FormAnswer {
  status(): number;
  headers(): Record<string, string>;
  text(): Promise<string>;
}

/**
 * Posts `fields` to `url` with the context's cookies, from `address` when given (as
 * X-Forwarded-For: the server must run with TRUST_PROXY). Sent by Node's fetch, not the context's
 * own request client: that one looks each new connection's host up over IPv6 too, and where the
 * resolver has no IPv6 localhost, a burst of a hundred waits seconds on DNS.
 */
export async function postForm(
  context: BrowserContext,
  url: string,
  fields: Record<string, string>,
  address?: string,
): Promise<FormAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { cookie: await cookieHeader(context, url), ...(address ? { 'x-forwarded-for': address } : {}) },
    redirect: 'manual',
  });
  const headers = Object.fromEntries(res.headers);
  const text = await res.text();
  return { status: () => res.status, headers: () => headers, text: async () => text };
}

/** An address of its own (2001:db8::/32, kept for documentation), so no count on it exists yet. */
export function newAddress(): string {
  const groups = randomBytes(12).toString('hex').match(/.{4}/g) ?? [];
  return `2001:db8:${groups.join(':')}`;
}
