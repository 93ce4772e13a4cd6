/** The OpenID scopes Tessera serves; every other scope belongs to a registered API. */
export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'roles'];
