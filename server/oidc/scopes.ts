/** The OpenID scopes Tessera serves; every other scope belongs to a registered API. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles'];

/** The claims each OpenID scope releases (openid's are in every ID token). */
export const SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username'],
  roles: ['roles'],
};
