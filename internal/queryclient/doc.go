// Package queryclient calls an iamdb authority's AWS Query API from the CLI: RDS
// VerifyDBAuthToken (the authority's verdict on a token), STS GetCallerIdentity (who
// credentials belong to) and, through [Call], any other action (IAM ListUnusedAccess for
// "iamdb access unused"). Requests are signed with SigV4 using the caller's AWS
// credentials (client.AWSCredentials, the SDK's standard chain); answers are bounded to
// 1 MiB.
//
// It is not an AWS SDK: it knows the Query form, AWS's XML error shape and these
// actions' results, nothing else. It does no logging, and the token it sends is never
// part of an error.
package queryclient
