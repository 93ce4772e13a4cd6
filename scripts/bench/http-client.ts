import { Pool } from 'undici';

/**
 * The load worker's HTTP client: undici's `dispatch` on a pool of keep-alive connections, with a
 * handler that collects the body, so no stream, Request or Response object is made per request.
 * The load worker shares the machine's cores with the servers, and `fetch` cost it five to ten
 * times more CPU per request (more than either server), which both servers then lost alike.
 */
export interface Answer {
  status: number;
  location: string | undefined;
  setCookies: string[];
  text: string;
}

export interface HttpClient {
  send(
    path: string,
    options: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  ): Promise<Answer>;
}

export function createHttpClient(origin: string, connections: number): HttpClient {
  const pool = new Pool(origin, { connections });
  return {
    send(path, { method, headers, body }) {
      return new Promise<Answer>((resolve, reject) => {
        let answer: Omit<Answer, 'text'> = { status: 0, location: undefined, setCookies: [] };
        const chunks: Buffer[] = [];
        pool.dispatch(
          { path, method, headers, body },
          {
            onRequestStart: () => {},
            onResponseStart: (_controller, status, responseHeaders) => {
              const { location, 'set-cookie': setCookie } = responseHeaders;
              answer = {
                status,
                location: Array.isArray(location) ? location[0] : location,
                setCookies: setCookie === undefined ? [] : [setCookie].flat(),
              };
            },
            onResponseData: (_controller, chunk) => {
              chunks.push(chunk);
            },
            onResponseEnd: () => resolve({ ...answer, text: Buffer.concat(chunks).toString('utf8') }),
            onResponseError: (_controller, error) => reject(error),
          },
        );
      });
    },
  };
}
