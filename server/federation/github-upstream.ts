import { createGitHub, GitHubError, type GitHubSettings } from './github.ts';
import { type Upstream, UpstreamError } from './upstream.ts';

/**
 * A GitHub (or GitHub Enterprise) connection an operator made, spoken through the same client
 * as the GITHUB_* one. GitHub is not OpenID Connect: no nonce or ID token, the person is who
 * /user says, with the address GitHub lists as verified; GitHub reports no amr.
 */
export function createGitHubUpstream(settings: GitHubSettings): Upstream {
  const github = createGitHub(settings);
  return {
    authorizationUrl: (flow) => github.authorizationUrl(flow.state, flow.codeVerifier),
    async identity(callback, flow) {
      try {
        const profile = await github.profile(callback, flow.state, flow.codeVerifier);
        return {
          subject: profile.id,
          email: profile.email.toLowerCase(),
          emailVerified: true,
          name: profile.name,
          username: profile.login,
          amr: [],
          acr: undefined,
        };
      } catch (err) {
        throw err instanceof GitHubError ? new UpstreamError(err.reason, err.message) : err;
      }
    },
  };
}
