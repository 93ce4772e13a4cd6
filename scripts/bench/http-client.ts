import { Agent, request } from 'node:http';

/**
 * A plain HTTP/1.1 client on keep-alive connections, for the sign-in scenario. A whole sign-in is
 * eight requests; through fetch (WHATWG streams and headers) the load worker spent about as much
 * CPU on them as the server did, on the same two cores, and the bench measured its own client.
 * Loopback `http:` only, as the bench serves.
 */
export interface Answer {
  status: number;
  location: string | undefined;
  setCookies: string[];
  /** The body; empty for a redirect, whose body is skipped. */
  text: string;
}

export interface HttpClient {
  send(url: URL, options: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<Answer>;
}

export function createHttpClient(): HttpClient {
  const agent = new Agent({ keepAlive: true });
  return {
    send(url, { method, headers, body }) {
      return new Promise<Answer>((resolve, reject) => {
        const sent = request(
          url,
          {
            method,
            agent,
            headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            const answer = { status, location: res.headers.location, setCookies: res.headers['set-cookie'] ?? [] };
            if (status >= 300 && status < 400) {
              res.resume();
              res.once('end', () => resolve({ ...answer, text: '' }));
              return;
            }
            res.setEncoding('utf8');
            let text = '';
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.once('end', () => resolve({ ...answer, text }));
          },
        );
        sent.once('error', reject);
        sent.end(body);
      });
    },
  };
}
