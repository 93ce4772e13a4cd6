import { z } from 'zod';
import type { Interaction } from './interaction.ts';

/**
 * What a sign-in remembers between its steps, kept on the interaction (bound to its cookie by
 * oidc-provider), never taken from a form. Read through one zod schema: a shape this version
 * does not know reads as "nothing remembered", and the person starts the step again.
 */

const firstFactor = z.enum(['pwd', 'fed', 'hwk', 'swk', 'user']);

const gitHubProfile = z.object({ id: z.string(), login: z.string(), name: z.string().nullable(), email: z.string() });

/** An identity of an upstream connection, to link to an account once its password is proved. */
const upstreamLink = z.object({ connectionId: z.string(), subject: z.string(), displayName: z.string() });

/** Who passed the first factor of this sign-in, how, and the identity to link once it ends. */
const firstStep = z.object({
  userId: z.string(),
  methods: z.array(firstFactor),
  link: gitHubProfile.optional(),
  upstreamLink: upstreamLink.optional(),
  /** The upstream connection checked a second factor, and the operator trusts it to (`mfa` in amr). */
  upstreamMfa: z.boolean().optional(),
  /** When the first factor was proved in this interaction (seconds); absent when only the session's earlier login stands for it. */
  provedAt: z.number().optional(),
  /** The first factor was a complete multi-factor proof on its own (a passkey with user verification). */
  multiFactor: z.boolean().optional(),
});

const signInState = z.object({
  /** Set once the first factor passed and a second factor (or enrolment) is wanted. */
  mfa: firstStep.extend({ enrolled: z.boolean().optional() }).optional(),
  /** An upstream identity waiting for the password of the account that holds its address. */
  githubLink: z.object({ profile: gitHubProfile, userId: z.string() }).optional(),
  /** The same for an upstream connection's identity, with the address the page shows. */
  connectionLink: upstreamLink.extend({ userId: z.string(), email: z.string(), connectionName: z.string() }).optional(),
  /** The id a sign-up with a passkey gives the account it creates (the passkey's user handle). */
  passkeySignup: z.object({ userId: z.string() }).optional(),
  /** The account whose password was right but whose email is not verified yet. */
  unverified: z.string().optional(),
});

export type FirstStep = z.infer<typeof firstStep>;
export type SignInState = z.infer<typeof signInState>;

/** The state this interaction holds; empty when it holds none (or one this version cannot read). */
export function signInStateOf(interaction: Interaction): SignInState {
  const parsed = signInState.safeParse(interaction.result ?? {});
  return parsed.success ? parsed.data : {};
}
