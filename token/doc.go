// Package token builds and verifies RDS IAM database authentication tokens.
//
// A token is a SigV4 presigned GET URL for the action "connect" of the service "rds-db",
// with "https://" stripped, valid for at most 15 minutes:
//
//	host:port/?Action=connect&DBUser=u&X-Amz-Algorithm=AWS4-HMAC-SHA256
//	  &X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Frds-db%2Faws4_request
//	  &X-Amz-Date=20260101T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host
//	  [&X-Amz-Security-Token=…]&X-Amz-Signature=<64 hex>
//
// [Build] makes one, as aws-sdk-go-v2's BuildAuthToken does (with the "/" before "?" that
// the AWS CLI writes and its releases before a fix leave out). A [Verifier] checks
// one as Amazon RDS does, accepting the variants of every real producer (AWS CLI, boto3, the
// Go, Java and JavaScript SDKs): any parameter order, with or without the "/" before "?", the
// host signed as typed or lower-cased, port 443 signed or not. Every refusal wraps one sentinel
// error ([ErrExpired], [ErrSignatureMismatch], …) and [Reason] names it in one word.
//
// The package is a pure core: no I/O, no logging, standard library and sigv4 only. Looking up
// access keys and session tokens is the caller's, through [KeyLookup]; the Verifier is generic
// over the caller's principal type P, so [Result.Principal] comes back typed as the lookup's
// [Key.Principal] was (the gateway's is *iam.Caller). It does not evaluate policies: a valid
// token says who signed it, not whether they may connect.
//
// Reference: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html
package token
