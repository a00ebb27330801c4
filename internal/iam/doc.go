// Package iam is the domain layer of iamdb's authority: accounts, IAM users, groups,
// roles, managed and inline policies, access keys, instance profiles, OIDC providers, STS
// sessions and the RDS database registry. It keeps them in a store.Store, answers the AWS
// Query API (internal/awsquery calls one method per operation, each authorizing itself
// like AWS), and serves the data path — SigV4 and RDS-token verification (LookupKey, a
// token.KeyLookup) and rds-db:connect decisions (AuthorizeConnect) — from memory.
//
// It is not the HTTP layer: it knows nothing of the wire (XML, URL-encoding of policy
// documents, request IDs, HTTP statuses); errors are *Error values with AWS's code and
// message, translated once at the boundary. Any other error is internal (a store failure)
// and must be reported without detail. Calls do not log: their errors are the caller's to
// report. The Service logs only what it notices on its own, outside any call (a snapshot
// refresh that fails, access keys the master key cannot decrypt), to Config.Logger. It
// reads no environment; time and randomness come from Config.
//
// # Data path
//
// A snapshot (snapshot.go) holds every access key with its decrypted secret and a shared
// *Caller whose identity policies (user inline and attached, then each group's inline and
// attached), permissions boundary and tags are compiled; every role with its compiled
// policies and trust policy; the managed policies; the databases by endpoint. It is built
// at New; after each store revision (store.Watch, and synchronously after this Service's
// own writes so callers read their writes) the changes the store logged since the
// snapshot's revision (store.Tx.Changes) are applied to it (apply.go): a new snapshot
// shares everything the changes do not reach with the old one (persistent maps, pmap.go),
// so a change costs time independent of the store's size, and is swapped in atomically.
// A full build remains for start-up, for a log that no longer reaches back (or a revision
// that went back), and to drop compiled policies no longer in use. LookupKey of an AKIA
// key is a map read. An ASIA key's session token is sealed and self-contained: it is
// unsealed without any store read, the role's policies come from the snapshot, and the
// resulting Caller is cached across snapshots while its role (or user) and managed
// session policies are unchanged. "Last used" of access keys and
// roles is recorded in memory with atomics and written in one batched transaction per
// Config.UsageFlushInterval (and at Close); GetAccessKeyLastUsed and GetRole merge pending
// records. Every use is noted, none sampled. The access advisor's records (per principal
// and action, and per principal and database user for allowed logins; usage.go) ride the
// same flush, at most 2^18 of them in memory (a flush past half of that drops the written
// ones from memory).
//
// # Secrets and session tokens
//
// Access key secrets are stored AES-256-GCM encrypted under HMAC-SHA256(master key,
// "iamdb secret v1") with the access key ID as additional data, and returned only by
// CreateAccessKey and Bootstrap. A session token is "IDB1" + unpadded base64url of
// nonce || AES-256-GCM(JSON payload) under HMAC-SHA256(master key, "iamdb sts session v1"),
// the prefix as additional data. The payload (session.go) carries the version, the ASIA key
// ID and its secret, the account, the role ARN and ID (or, for GetSessionToken, the user
// ARN and ID), the session name, session tags, transitive tag keys, source identity, the
// session policies (inline JSON, compacted, and ARNs), issue time (ns), expiry and the
// chained flag. Tokens are at most 8 KiB; PackedPolicySize is the percentage of a 4096-byte
// budget for session policies and tags. A token is refused (token.ErrInvalidSessionToken)
// when it does not authenticate, names another key, or its role was deleted (or re-created:
// the role ID must match) or had its sessions revoked (RevokeRoleSessions: issued before T).
// An expired token is returned with Key.Expiration in the past for the verifier to refuse.
//
// # Store layout
//
// JSON documents, one store.Update per mutation (read-modify-write inside it, indexes in
// the same transaction). Names are unique case-insensitively, so keys use the lower-case
// name; documents keep the name as given. A request may name an entity in any case; it is
// authorized on the ARN built from the stored path and name (nameOf), since policies match
// ARNs case-sensitively and a Deny on user/Boss must hold for "boss".
//
//	kind       key                                   value
//	account    ACCT                                  accountDoc {id, alias, created}
//	user       ACCT/lowername                        userDoc (path, ID, boundary, tags, inline
//	                                                 policies, attached ARNs, groups, key IDs)
//	group      ACCT/lowername                        groupDoc (… members)
//	role       ACCT/lowername                        roleDoc (trust policy as given, max
//	                                                 session, …, instance profiles, revokedBefore)
//	policy     ACCT/lowername                        policyDoc (customer managed; versions ≤ 5
//	                                                 with documents as given, default, next)
//	profile    ACCT/lowername                        profileDoc (roles ≤ 1)
//	oidc       ACCT/host/path                        oidcDoc
//	accesskey  AKIA…                                 keyDoc (account, user, encrypted secret,
//	                                                 status): also the key → user index
//	id         AIDA…/AROA…/AGPA…/ANPA…/AIPA…          {kind, account, name}: unique IDs
//	attach     POLICYARN␠ACCT␠user|group|role␠name   empty: who a managed policy is attached to
//	boundary   POLICYARN␠ACCT␠user|role␠name         empty: permissions boundary uses
//	lastused   key/AKIA… | role/ACCT/lowername        {date, service, region}
//	lastused   act/user|role/ACCT/lowername␠action   {date, service, region, entity ARN, action}:
//	                                                 the access advisor's, allowed or denied
//	lastused   login/user|role/ACCT/lowername␠DBUSERARN  the last login rds-db:connect allowed
//	advisorjob ACCT/JOBID                            a computed GetServiceLastAccessedDetails
//	                                                 answer (≤ 1000 per account, oldest dropped)
//	credreport ACCT                                  the last credential report {generated, csv}
//	db         ACCT/REGION/instance|cluster/id       dbDoc (resource ID kept for life)
//	login      ACCT/lowername                        loginDoc (Argon2id hash with its salt and
//	                                                 parameters, when set, reset flag, history)
//	pwpolicy   ACCT                                  passwordPolicyDoc
//	mfa        ACCT/lowername                        mfaDoc (path, sealed seed, tags, user,
//	                                                 enabled, last accepted step, drift)
//
// AWS managed policies are built in (builtin.go: AdministratorAccess), read-only, present
// in every account; their attachments are indexed like any other.
//
// # Decisions where AWS is silent or iamdb differs
//
//   - Authorization happens before "not found": an unauthorized caller gets AccessDenied on
//     the ARN the entity would have (path "/"), never NoSuchEntity.
//   - List operations authorize against "arn:aws:iam::ACCT:user/" (…group/, role/, policy/,
//     instance-profile/, oidc-provider/); RDS Describe without an identifier against
//     "arn:aws:rds:REGION:ACCT:db:*" (or cluster:*).
//   - Root callers (Service.Root, for trusted tools) pass Authorize unconditionally; in trust
//     and rds-db:connect evaluations their identity policy is AdministratorAccess.
//   - MFA: virtual devices only (mfa.go; TOTP per RFC 6238, SHA-1, 30 s, 6 digits, in
//     totp.go). EnableMFADevice and ResyncMFADevice look for the two consecutive codes
//     within 20 steps either way and keep the offset found as the device's drift;
//     GetSessionToken accepts a code one step either way of the device's clock, and only a
//     step later than the last one it accepted (no replay). The seed is sealed under the
//     master key like access key secrets and returned by CreateVirtualMFADevice only, as
//     base32 text and as a PNG QR code of otpauth://totp/NAME@ACCOUNT?secret=SEED (qr.go, an
//     encoder of its own). A session from GetSessionToken with a valid code has
//     aws:MultiFactorAuthPresent true and aws:MultiFactorAuthAge (seconds since the code was
//     checked) in every evaluation, rds-db:connect included, and may call IAM; other
//     sessions have aws:MultiFactorAuthPresent false and cannot call IAM (InvalidClientTokenId)
//     nor GetSessionToken; long-term keys have neither key. AssumeRole still refuses
//     SerialNumber/TokenCode with ValidationError.
//   - Console passwords (login.go, password.go) are hashed with Argon2id (t=2, 19 MiB, one
//     lane, 16-byte salt), the parameters stored with each hash. The account password policy
//     is checked on CreateLoginProfile, UpdateLoginProfile and ChangePassword; without one,
//     AWS's default applies (8 characters, three of four classes, not the account or user
//     name). A wrong OldPassword is AccessDenied (AWS's code is not documented); with
//     HardExpiry an expired password cannot be changed by its user. VerifyPassword is the
//     console's check. Login profiles, the password policy and MFA devices are read only by
//     API calls, in their own transactions (GetSessionToken writes the used step), never by
//     the snapshot: apply passes over their changes. DeleteUser refuses a user with a login
//     profile or an enabled device (DeleteConflict).
//   - ConsoleSignIn (console.go) is the web console's sign-in, an internal entry point: the
//     account by ID or alias, the login profile's password (one answer for every wrong
//     account, user or password), a code of one of the user's enabled MFA devices when it
//     has one (used once), a new password through ChangePassword when the old one expired or
//     must be reset. It issues a session of the user marked Console: such a session may
//     call IAM without MFA (a GetSessionToken session without MFA may not), carries
//     aws:MultiFactorAuthPresent as the sign-in had it, and cannot call GetSessionToken. A
//     sign-in records the password's use (GetUser's PasswordLastUsed, the credential
//     report's password_last_used).
//   - AssumeRole needs the role's exact ARN (with its path); an unknown role is AccessDenied.
//     Session tags or transitive tags need sts:TagSession, a source identity (given or
//     inherited) sts:SetSourceIdentity, each evaluated like sts:AssumeRole; an inherited
//     source identity cannot change; request tags may not override transitive ones.
//   - AssumeRoleWithWebIdentity (webidentity.go) takes OIDC ID tokens only (ProviderId, for
//     OAuth 2.0 providers, is refused). The provider is the one in the role's account whose
//     URL's host (lower-cased) and path equal the token's "iss" without its scheme (an "iss"
//     without one is https://); its keys come from Config.WebIdentityKeys, by default an
//     oidc.KeyCache that fetches https:// issuers only. Tokens are internal/jwt's allow-listed
//     algorithms; exp is required; exp, nbf and iat allow Config.WebIdentitySkew (one
//     minute); one "aud" must be a client ID of the provider; "sub" is required. Errors:
//     ValidationError (parameters), InvalidIdentityToken (malformed, algorithm, signature,
//     key, unknown issuer "No OpenIDConnect provider found in your account for ISS",
//     audience "Incorrect token audience", not yet valid, keys not fetched — with iamdb's
//     reason appended), ExpiredTokenException ("Token expired: current date/time N must be
//     before the expiration date/time M"), IDPRejectedClaim (an invalid session tags, amr or
//     source identity claim), AccessDenied "Not authorized to perform
//     sts:AssumeRoleWithWebIdentity" (the trust policy, an unknown role). The trust
//     evaluation's principal is {"Federated": provider ARN} of type WebIdentityUser with no
//     account, so only the trust policy can allow; its context adds HOST/PATH:sub,
//     HOST/PATH:aud (the matched audience), HOST/PATH:amr, aws:FederatedProvider (the
//     provider ARN) and the session tag keys. The session is an ordinary role session: its
//     caller is the assumed-role ARN and it logs in through the gateways like any other;
//     its requests carry aws:FederatedProvider (sessions it assumes in turn do not).
//   - A trust policy's user and role ARNs in accounts the authority holds are bound to the
//     principals' unique IDs when the policy is stored (roleDoc.TrustIDs, bindTrust), as
//     AWS stores IDs: one that does not exist is MalformedPolicyDocument "Invalid
//     principal in policy", and one deleted and created again is not trusted. GetRole
//     returns the document as written (AWS shows the ID of a deleted principal).
//   - Revoked or orphaned sessions fail at LookupKey (invalid session token), not with
//     AccessDenied at each request as AWS's AWSRevokeOlderSessions policy does.
//   - A managed session policy deleted after the session was issued allows nothing.
//   - A stored policy that no longer compiles makes its principal deny everything.
//   - AuthorizeConnect refuses (implicit deny) when the database has IAM auth disabled.
//   - The simulator evaluates identity policies and the boundary only, and leaves
//     MissingContextValues empty.
//   - The simulator's MatchedStatements positions are AWS's: 1-based line and column (in
//     characters), StartPosition just after the statement's "{" and EndPosition just after
//     its "}" (pinned by aws-cli's simulate-custom-policy example, 1:38-1:167; the API
//     reference says only "line" and "column"), in the document as stored, which is the
//     author's text that Get*Policy and GetPolicyVersion return.
//   - ModifyDB* applies EnableIAMDatabaseAuthentication at once whatever ApplyImmediately.
//
// The sqlite backend only notifies its own process; replicas on a shared PostgreSQL store
// see each other's changes through that backend's Watch.
package iam
