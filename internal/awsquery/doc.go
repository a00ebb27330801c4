// Package awsquery serves the AWS Query protocol of IAM (2010-05-08), STS (2011-06-15) and
// RDS (2014-10-31) over HTTP, so that the unmodified AWS CLI, boto3 and the AWS SDKs manage
// the authority with --endpoint-url / AWS_ENDPOINT_URL. It is the thin edge of the authority:
// it parses forms, verifies SigV4 signatures, dispatches to internal/iam and writes AWS's XML.
// It decides nothing itself: validation and authorization are the domain's.
//
// The flow of a request:
//
//	POST / (form body) or GET /?… ──► bound the body (MaxBodyBytes, else 413)
//	  ──► parse the form strictly (escapes, UTF-8, no repeated name, ≤ 1000 parameters)
//	  ──► choose the API by Version, else by the credential scope's service
//	  ──► verify SigV4 (Authorization header, or a presigned query) with the secret of
//	      iam.Service.LookupKey; check the scope's service and region
//	  ──► decode the action's parameters (lists bounded to 200 members, indices 1..n)
//	  ──► call iam.Service with the *iam.Caller and iam.WithRequestInfo(ctx, …)
//	  ──► <ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…
//	      or <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>…
//
// Errors are translated to the wire once, in Server.toQueryError: the domain's *iam.Error
// keeps its code and message and gets the HTTP status of its code from one table
// (status.go); protocol failures carry AWS's codes
// (MalformedQueryString, MissingAction, InvalidAction, MissingAuthenticationToken,
// IncompleteSignature, InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken,
// RequestEntityTooLarge); anything else is a 500 (ServiceFailure for IAM, InternalFailure
// for STS and RDS) whose detail only the log sees.
//
// Decisions where AWS is silent or where iamdb differs:
//   - GET with the form in the query string is accepted like POST (AWS's Query APIs accept
//     both). For POST, parameters in the URL's query string are merged with the body's; a
//     name given in both is refused as repeated.
//   - A form that is not well formed is refused with MalformedQueryString and status 400
//     (AWS documents 404 for that code; 400 is what clients expect of a bad request).
//   - A POST whose Content-Type is neither absent nor application/x-www-form-urlencoded is
//     refused with 415 UnsupportedMediaType.
//   - Credential scopes: the service must be the API's ("sts", "iam", "rds"); any
//     well-formed region is accepted for all three (like AWS's global IAM and STS endpoints)
//     and becomes aws:RequestedRegion; RDS lists the databases of that region.
//   - A signature dated more than ClockSkew (5 minutes) from now is refused with
//     SignatureDoesNotMatch "Signature expired: … is now earlier than …", as AWS does.
//   - An expired session token is ExpiredToken whatever the signature; an unknown,
//     inactive or malformed key or session token is InvalidClientTokenId.
//   - aws:SourceIp is the TCP peer: forwarding headers are not trusted.
//   - Parameters iamdb does not implement are refused, not ignored: the simulator's
//     ResourcePolicy and friends (InvalidInput), and every Modify* parameter but
//     EnableIAMDatabaseAuthentication and ApplyImmediately (InvalidParameterCombination).
//   - AssumeRoleWithWebIdentity is unsigned (the OIDC token is the proof; a signed call is
//     verified first and its signer ignored). iam.Service verifies the token and the trust
//     policy; the answer adds SubjectFromWebIdentityToken, Provider (the IAM OIDC
//     provider's ARN) and Audience. ProviderId (OAuth 2.0) is refused.
//   - Policy documents are returned URL-encoded (RFC 3986, spaces as %20), as IAM does.
//
// The iamdb extension Action=VerifyDBAuthToken&Version=2014-10-31 (used by
// `iamdb token verify --endpoint`) verifies an RDS auth token exactly as the gateways would.
// Parameters: Token, DBUser, optional Hostname and Port (default: the token's), optional
// SourceIp (for aws:SourceIp). The caller needs rds-db:VerifyAuthToken on
// arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCEID/DBUSER (checked on "*" when no database has
// the endpoint, so that narrow callers cannot probe endpoints), unless the token is signed
// with the caller's own access key and names a registered endpoint: anyone may ask why
// their own token would be refused (`iamdb doctor` does). The answer:
//
//	<VerifyDBAuthTokenResult>
//	  <Valid>true|false</Valid>          the token itself: signature, dates, host, port, user, key
//	  <Reason>…</Reason>                 if not valid, token's reason word ("expired", …);
//	                                     if valid, the policy decision's explanation
//	  <PrincipalArn>…</PrincipalArn>     who signed it (valid tokens only)
//	  <Decision>allowed|explicitDeny|implicitDeny</Decision>   rds-db:connect
//	  <DecidingPolicy>…</DecidingPolicy><DecidingStatement>…</DecidingStatement>
//	</VerifyDBAuthTokenResult>
//
// CloudTrail's LookupEvents (cloudtrail.go) is the one AWS JSON 1.1 operation: a request
// with an X-Amz-Target header is routed to it before any form parsing, authenticated the
// same way (credential scope service "cloudtrail"), authorised by cloudtrail:LookupEvents on
// "*", restricted to the caller's account and answered from Config.AuditReader (nil:
// UnsupportedOperationException). Its errors are JSON {"__type", "message"}; the Query
// authentication codes become the JSON protocol's (UnrecognizedClientException,
// InvalidSignatureException, …) and AccessDenied is AccessDeniedException (400).
//
// Audit trail: with Config.Audit, every request that reaches a known action or fails
// authentication is recorded as a CloudTrail event before it is answered; see audit.go
// for identities, readOnly and responseElements, and redact.go for how parameters are
// converted and secrets removed (a deny-list by name pattern with a short allow-list).
// A request whose event cannot be recorded is answered 500 — the action itself has run
// by then (a CreateUser whose event failed did create the user), but its caller is never
// told it succeeded.
//
// VerifyDBAuthToken is a question, not a login: it notes no use of the token's key.
//
// The iamdb extension Action=ListUnusedAccess&Version=2010-05-08 (used by `iamdb access
// unused`) lists what went unused in the last Days days (1–3650): rds-db:connect grants
// that allowed no login and active keys and roles not used (iam.Service.ListUnusedAccess).
// The caller needs iam:GetCredentialReport and iam:GetServiceLastAccessedDetails. The answer:
//
//	<ListUnusedAccessResult>
//	  <Since>…</Since>
//	  <Grants><member><PrincipalArn/><Resource/><Database/><DBUser/><LastUsed/></member>…</Grants>
//	  <Principals><member><Kind>access-key|role</Kind><PrincipalArn/><AccessKeyId/>
//	    <CreateDate/><LastUsed/></member>…</Principals>
//	</ListUnusedAccessResult>
//
// It is not a general AWS emulator: only the actions listed in iamOps, stsOps and rdsOps
// (and LookupEvents) exist; any other is InvalidAction (UnknownOperationException in JSON).
package awsquery
