// Package console is iamdb's web console, served by the authority under /console/ on the
// authority's own listener (and TLS): sign-in as an IAM user with the user's console
// password and, when the user has one, an MFA code; pages to manage users, groups, roles,
// policies and access keys, the registered databases and their connection snippets, the
// login activity from the audit trail, a "can this principal connect as this database
// user?" simulator and the gateways' live sessions.
//
// No admin bypass: a signed-in person holds a console session (temporary credentials of
// the user, iam.ConsoleSignIn) and every page acts with it. IAM and RDS data are read and
// changed through the authority's own AWS Query API, called in process with the session's
// credentials signed by the AWS SDK (api.go): the same authentication, authorization,
// validation and audit events as the AWS CLI gets. What the API has no action for (the
// audit trail's events, the live sessions) is authorized with iam.Service.Authorize before
// it is read: cloudtrail:LookupEvents, and iamdb:ListGatewaySessions.
//
// Sessions (session.go) live in the authority's memory, bound to a random cookie
// (HttpOnly, SameSite=Strict, Secure under TLS, Path /console/); they end on sign-out, after
// Config.IdleTimeout without a request, or at the credentials' expiry (Config.MaxAge).
// Every POST carries the session's CSRF token and must come from the console's own origin;
// every answer has a strict Content-Security-Policy (no inline script or style) and is not
// cached. Sign-ins and their failures are audit events (CloudTrail's ConsoleLogin).
//
// Pages are Go templates rendered on the server with embedded assets (templates/, static/);
// the little JavaScript there is (static/console.js) only improves what already works
// without it.
//
// It is not an API: nothing here is meant for programs, which use the AWS Query API.
package console
