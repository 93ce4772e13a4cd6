import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * JSON logs on stdout. Credentials never reach a line: the paths below are censored wherever a
 * caller passes a request, a body or an error carrying them.
 */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'tessera' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.password',
          '*.client_secret',
          '*.secret',
          '*.token',
          '*.code',
          '*.code_verifier',
          '*.refresh_token',
          '*.access_token',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd, sync: fd === 2 }),
  );
}
