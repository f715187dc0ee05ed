export { SCOPES, loadApiKeys, matchApiKey, parseApiKeys, sha256 } from './api-keys';
export type { ApiKeyRecord, Scope } from './api-keys';
export { createAuthenticator, hasScope } from './authenticator';
export type { AuthOutcome, Authenticate, AuthenticatorOptions, CredentialHeaders, Principal } from './authenticator';
export { CLOCK_TOLERANCE_SECONDS, signServiceToken, verifyServiceToken } from './jwt';
export type { ServiceTokenClaims, SignOptions, VerifyResult } from './jwt';
