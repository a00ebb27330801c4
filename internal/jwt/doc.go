// Package jwt parses, verifies and signs JSON Web Tokens (RFC 7519) with JSON Web Signature
// in the compact serialization (RFC 7515), and reads and writes JSON Web Key Sets
// (RFC 7517): what an OpenID Connect relying party such as STS's AssumeRoleWithWebIdentity
// needs, and what iamdb's small OIDC issuer signs with. It is a pure core: no I/O, standard
// library only. Fetching an issuer's keys is internal/oidc's job.
//
// It is not a general JOSE library: no encryption (JWE), no JSON serialization, no
// unsecured tokens, no MACs. The algorithms are allow-listed: RS256, RS384, RS512 (RSA
// PKCS #1 v1.5, keys of at least 2048 bits), PS256 (RSA-PSS, salt length = hash length),
// ES256 (P-256) and ES384 (P-384). "none", HS256/384/512 and anything else are refused
// before any key is looked at, so that a public key can never be used as an HMAC secret
// (the classic algorithm-confusion attack). A key whose JWK names an "alg" verifies only
// that algorithm; a key's type and curve must fit the algorithm.
//
// Verification order, each failure a sentinel error for errors.Is:
//
//	size (MaxTokenSize)        ErrTooLarge
//	three base64url parts, JSON objects without duplicate names, "crit" absent
//	                           ErrMalformed
//	header "alg" allow-listed  ErrAlgorithm
//	key by "kid" (or, without "kid", every key that fits the algorithm)
//	                           ErrUnknownKey
//	signature                  ErrSignature
//	then Claims.Validate: "exp" required and not past (with Skew), "nbf" and "iat" not in
//	the future (with Skew), "iss" and "aud" as required
//	                           ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrClaims
package jwt
