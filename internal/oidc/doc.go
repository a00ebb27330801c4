// Package oidc is the network edge of OpenID Connect for iamdb, on both sides:
//
//   - KeyCache fetches and caches the signing keys of the identity providers registered in
//     IAM (CreateOpenIDConnectProvider), for STS's AssumeRoleWithWebIdentity: the issuer's
//     /.well-known/openid-configuration, then its jwks_uri (OpenID Connect Discovery 1.0
//     §4). Only https:// issuers are fetched, unless AllowInsecureLoopback is set, which
//     admits http:// to 127.0.0.0/8, ::1 and localhost only (tests, iamdb dev); redirects
//     are not followed; each response is bounded (MaxBytes) and each fetch timed out
//     (Timeout); the discovery document's "issuer" must be the issuer fetched and its
//     "jwks_uri" must obey the same scheme rule. Keys are kept for TTL and refetched
//     early, at most once per MinRefresh, when a token names a key the cache lacks (key
//     rotation). Concurrent fetches of one issuer are collapsed into one.
//   - Issuer is a small OIDC issuer (iamdb oidc serve / iamdb oidc token): one ES256 key
//     kept in a directory, a discovery document and JWKS over HTTP, and tokens shaped like
//     Kubernetes projected service-account tokens, so that EKS-style IRSA
//     (AWS_WEB_IDENTITY_TOKEN_FILE) works where no other OIDC provider exists.
//
// Verification itself (signatures, claims) is internal/jwt's; what a verified token may do
// is internal/iam's. Thumbprints registered with the IAM provider are not checked (AWS
// itself no longer relies on them for well-known CAs); the TLS chain is verified by the
// http.Client's roots.
package oidc
