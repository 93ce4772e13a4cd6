import { type Command, text } from './context.ts';

/** `tessera registration-tokens create`: an initial access token for one dynamic client registration. */
export const registrationTokenCommands: Record<string, Command> = {
  'registration-tokens create': {
    usage:
      'tessera registration-tokens create [--expires-in D]   (D: 12h, 7d, 3600s; default 1d, at most 30d; one registration each, used only when DYNAMIC_REGISTRATION=true)',
    options: { 'expires-in': { type: 'string' } },
    async run({ db, secrets, audit, values }) {
      // Loaded here: it stores the token through the provider's adapter, and loading oidc-provider
      // would add a fifth to the start of every other command.
      const { createRegistrationToken } = await import('../../server/registration/registration-tokens.ts');
      const created = await createRegistrationToken(db, secrets, text(values['expires-in']));
      await audit({
        type: 'registration_token.created',
        actor: 'cli',
        details: { id: created.id, expires_at: created.expires_at },
      });
      return created;
    },
  },
};
