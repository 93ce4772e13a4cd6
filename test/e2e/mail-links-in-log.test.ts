import { afterEach, describe, expect, it } from '@jest/globals';
import { formClient } from '../support/form-client.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Without SMTP_URL, a mailed link reaches the log only where the setup says it is for development
 * (an http://localhost issuer, or MAIL_TO_LOG=true): elsewhere one read of the log would hand over
 * the account whose password reset it carries.
 */
const PASSWORD = 'violet kettle under seven moons';
let tessera: RunningTessera | undefined;

afterEach(async () => {
  await tessera?.dispose();
  tessera = undefined;
});

async function askForReset(server: RunningTessera, email: string) {
  await server.cli(['users', 'create', '--email', email, '--password-stdin'], PASSWORD);
  const page = `http://localhost:${server.env.PORT}/forgot-password`;
  const res = await formClient().submit(page, page, { email });
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('Check your email');
}

describe('without SMTP_URL', () => {
  it('on a production issuer, logs that a mail could not be sent, never its link, and warns at start', async () => {
    tessera = await startTessera({ ISSUER: 'https://id.example.test' });
    expect(tessera.logs()).toContain('SMTP_URL is not set: no mail is sent');
    await askForReset(tessera, 'ops@example.test');

    const logs = await eventually(async () => {
      const logs = (tessera as RunningTessera).logs();
      expect(logs).toContain('"msg":"mail given up"');
      return logs;
    });
    expect(logs).toContain('"reason":"SMTP_URL is not set"');
    expect(logs).toContain('"kind":"reset-password"');
    expect(logs).not.toContain('/reset-password?token');
    expect(logs).not.toContain('token=');
  });

  it('with MAIL_TO_LOG=true, writes the mail and its link to the log', async () => {
    tessera = await startTessera({ ISSUER: 'https://id.example.test', MAIL_TO_LOG: 'true' });
    expect(tessera.logs()).toContain('mail, links included, is written to this log');
    await askForReset(tessera, 'dev@example.test');

    await eventually(async () =>
      expect((tessera as RunningTessera).logs()).toContain('https://id.example.test/reset-password?token='),
    );
  });
});
