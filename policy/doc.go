// Package policy parses IAM policy documents strictly and evaluates requests against them
// the way AWS does, fast enough to sit on a database gateway's connection path.
//
// Parse reads identity-based policies, resource-based policies (including role trust
// policies), permissions boundaries and session policies in the IAM JSON policy language
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html) and
// compiles them once: actions are lower-cased and split at the service prefix, resource ARNs
// are split into their six parts, condition values are parsed into numbers, times, networks
// and wildcard patterns, and policy variables (Version 2012-10-17 only) are turned into
// tokens. Errors wrap ErrMalformed (IAM's MalformedPolicyDocument) or ErrTooLarge (IAM's
// LimitExceeded) and name the statement and the element.
//
// Evaluate applies AWS's policy evaluation logic
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)
// to one request: explicit deny first; identity-based and resource-based policies;
// permissions boundaries and session policies; role trust policies; cross-account access.
// It returns a Decision that names the deciding statement, for audit logs and simulation.
// A compiled Policy is immutable and can be shared by any number of goroutines; Evaluate
// does not allocate, so a server keeps one Context per connection, fills it (Reset, Set,
// SetPrincipal) and evaluates.
//
// Condition operators, set operators, …IfExists and Null follow
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html;
// policy variables follow
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html.
// Where AWS's documentation is silent the package decides, and says so here:
//
//   - Condition operator names are matched exactly; condition keys case-insensitively.
//   - A request value that cannot be read as the operator's type (an IpAddress test on a
//     key holding "not-an-ip") matches no policy value, so a negated operator holds.
//   - A single-valued operator given a multivalued key holds when any request value
//     matches; its negation holds when none does.
//   - A key whose values are all empty strings (a tag with an empty value) is a "null
//     dataset", as the guide calls "an empty string": Null "true" holds on it and "false"
//     fails, ForAllValues holds and ForAnyValue fails, as on a missing key. The plain
//     operators, …IfExists included, see it as present with the value "".
//   - A variable's value is matched literally: a '*' inside a tag value is not a wildcard.
//   - "${" without a closing "}" or with an invalid key is literal text.
//   - In the same account, a resource-based Allow for "*" (or {"AWS":"*"}) grants like an
//     Allow naming the role's ARN: it needs no identity-based Allow but is limited by the
//     permissions boundary and session policies.
//   - NotPrincipal applies to every principal the listed entries do not name, using the
//     same matching as Principal (an account entry names every principal of the account).
//
// What it is not: it is not IAM. It stores nothing, knows no users, groups or roles, and
// does not resolve which policies apply to a principal — the caller passes them. It does not
// implement AWS Organizations SCPs or RCPs, or service-specific authorization (S3 ACLs, KMS
// grants). It does no I/O and imports only the standard library and package arn.
package policy
