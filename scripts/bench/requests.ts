import { BenchError } from './errors.ts';
import type { Step } from './load.ts';

/**
 * What a load worker sends: everything it needs as plain data, since it runs in a worker thread
 * of its own (see load.ts). One plan per scenario and server; one `Step` per connection.
 */
export type LoadPlan = {
  /** The server's name, for error messages. */
  label: string;
  tokenUrl: string;
  /** client_secret_basic, computed once. */
  authorization: string;
} & ({ grant: 'client_credentials'; body: string } | { grant: 'refresh_token'; refreshTokens: string[] });

export function stepsFor(plan: LoadPlan, concurrency: number): Step[] {
  if (plan.grant === 'client_credentials') {
    const step: Step = async () => {
      await postToken(plan, plan.body);
    };
    return Array.from({ length: concurrency }, () => step);
  }
  return plan.refreshTokens.map((first) => {
    // Tokens rotate on every use and a used one revokes the grant: keep the newest one.
    let refreshToken = first;
    return async () => {
      const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
      const answer = await postToken(plan, body);
      if (typeof answer.refresh_token !== 'string') throw new BenchError(`${plan.label}: no rotated refresh_token`);
      refreshToken = answer.refresh_token;
    };
  });
}

async function postToken(plan: LoadPlan, body: string): Promise<Record<string, unknown>> {
  const response = await fetch(plan.tokenUrl, {
    method: 'POST',
    headers: { authorization: plan.authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new BenchError(`${plan.label}: HTTP ${response.status} ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as Record<string, unknown>;
  if (typeof answer.access_token !== 'string') throw new BenchError(`${plan.label}: no access_token in the answer`);
  return answer;
}
