import { describe, expect, it } from '@jest/globals';
import { cookieSigner } from '../../server/http/cookie-signer.ts';

// What Keygrip (the cookies package's default) makes for these keys: cookies signed before verify.
const KEYGRIP = { current: '2AFGKbF0r81cKeKdYbrn-Gmsc2E', older: 'Db85Q5528tKIsc0IL_59jeCXLWs' };
const DATA = '_session=abc123';

describe('the cookie signer', () => {
  const signer = cookieSigner(['current key', 'older key']);

  it('signs as Keygrip does, with the first key', () => {
    expect(signer.sign(DATA)).toBe(KEYGRIP.current);
  });

  it('says which key made a signature, as Keygrip does', () => {
    expect(signer.index(DATA, KEYGRIP.current)).toBe(0);
    expect(signer.index(DATA, KEYGRIP.older)).toBe(1);
    expect(signer.verify(DATA, KEYGRIP.older)).toBe(true);
  });

  it('refuses a signature of other data, a changed or cut signature, and one with padding', () => {
    expect(signer.index('_session=abc124', KEYGRIP.current)).toBe(-1);
    expect(signer.index(DATA, `${KEYGRIP.current.slice(0, -1)}F`)).toBe(-1);
    expect(signer.index(DATA, KEYGRIP.current.slice(0, -1))).toBe(-1);
    expect(signer.index(DATA, `${KEYGRIP.current}=`)).toBe(-1);
    expect(signer.verify(DATA, '')).toBe(false);
  });
});
