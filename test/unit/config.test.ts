import { availableParallelism } from 'node:os';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../server/config.ts';

describe('loadConfig', () => {
  it('starts from defaults a bare machine can run with', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      issuer: 'http://localhost:3000',
      port: 3000,
      databaseUrl: undefined,
      trustProxy: false,
      dynamicRegistration: false,
      keyPublishDelayMs: 600_000,
    });
    expect(loadConfig({ KEY_PUBLISH_DELAY: '0' }).keyPublishDelayMs).toBe(0);
    expect(config.dataDir).toMatch(/\/data$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('runs one process unless WORKERS asks for more; auto is one per CPU, and one on the embedded database', () => {
    const postgres = { DATABASE_URL: 'postgres://db.example/tessera', SECRET_KEY: 'k'.repeat(32) };
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ ...postgres, WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ ...postgres, WORKERS: 'auto' }).workers).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(1);
    expect(() => loadConfig({ ...postgres, WORKERS: '0' })).toThrow(
      'Invalid configuration: WORKERS must be a number of processes (1 to 256) or auto',
    );
  });

  it('normalises the issuer to its origin and reads booleans and GitHub settings', () => {
    const config = loadConfig({
      ISSUER: 'https://id.example.com/',
      TRUST_PROXY: 'true',
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'secret',
    });
    expect(config.issuer).toBe('https://id.example.com');
    expect(config.trustProxy).toBe(true);
    expect(config.github).toEqual({
      clientId: 'id',
      clientSecret: 'secret',
      baseUrl: 'https://github.com',
      apiUrl: 'https://api.github.com',
    });
  });

  it.each([
    [{}, true],
    [{ ISSUER: 'http://127.0.0.1:8080' }, true],
    [{ ISSUER: 'https://localhost:3000' }, false],
    [{ ISSUER: 'http://id.internal' }, false],
    [{ ISSUER: 'https://id.example.com' }, false],
    [{ ISSUER: 'https://id.example.com', MAIL_TO_LOG: 'true' }, true],
    [{ MAIL_TO_LOG: 'false' }, false],
  ])('with %j, writes mail and its links to the log (without SMTP_URL): %s', (env, toLog) => {
    expect(loadConfig(env).mailToLog).toBe(toLog);
  });

  it.each([
    [{ MAIL_TO_LOG: 'sometimes' }, 'MAIL_TO_LOG must be true or false'],
    [{ ISSUER: 'ftp://id.example.com' }, 'ISSUER must be a URL (http or https)'],
    [{ ISSUER: 'not a url' }, 'ISSUER must be a URL (http or https)'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL must be a URL (postgres or postgresql)'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY must be true or false'],
    [{ DYNAMIC_REGISTRATION: 'on' }, 'DYNAMIC_REGISTRATION must be true or false'],
    [{ GITHUB_CLIENT_ID: 'only-one' }, 'GITHUB_CLIENT_SECRET is required when the other GitHub setting is set'],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL must be a URL (smtp or smtps)'],
    [{ KEY_PUBLISH_DELAY: '10m' }, 'KEY_PUBLISH_DELAY must be a number of seconds'],
    [{ KEY_PUBLISH_DELAY: '-5' }, 'KEY_PUBLISH_DELAY'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
