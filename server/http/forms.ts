import { bodyParser } from '@koa/bodyparser';
import { csrfToken, verifyCsrf } from './csrf.ts';
import { rejectNulInBody } from './nul-bytes.ts';

/**
 * The middleware every Tessera form route uses: `token` on the page that shows a form (it puts
 * the CSRF token in `ctx.state`), `post` on the route it posts to (small urlencoded bodies only,
 * no NUL in any field, then the CSRF check, then the token again for a page re-shown with errors).
 */
export function formBody(secure: boolean) {
  const token = csrfToken(secure);
  return {
    token,
    post: [bodyParser({ enableTypes: ['form'], formLimit: '16kb' }), rejectNulInBody, verifyCsrf, token] as const,
  };
}
