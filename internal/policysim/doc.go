// Package policysim builds an offline policy simulation from policy files and
// command-line values, as "iamdb policy simulate" does: it reads and parses each file
// with its kind (identity, session, boundary, resource or trust), turns the principal
// ARN and KEY=TYPE:VALUE context values into the request context, and returns the
// policy.Input that policy.Evaluate decides. [Message] words a parse error as IAM
// reports it (MalformedPolicyDocument, LimitExceeded), for "iamdb policy validate" too.
//
// It is not the evaluator (package policy is) nor IAM's simulator API (internal/iam's
// SimulateCustomPolicy, whose context entries have their own types). It reads only the
// files it is given and does no logging.
package policysim
