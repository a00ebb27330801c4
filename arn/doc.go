// Package arn parses, formats and matches Amazon Resource Names.
//
// An ARN has six colon-separated parts:
//
//	arn:partition:service:region:account-id:resource
//
// The resource part may itself contain colons and slashes
// ("dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXYZ/alice"); only the first five colons separate parts.
// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html.
//
// Match compares an ARN with a pattern part by part, case-sensitively, with the wildcards
// '*' (any run of characters, including '/' and ':' inside the resource part) and '?' (one
// character), the way IAM matches the Resource element and the Arn condition operators.
//
// The package is what the policy engine, the authority and the gateway share about ARNs. It
// is not a catalogue of AWS services or resource types: it does not know which services
// exist, which resource types they have or how each service formats its resource part.
// It does no I/O and imports only the standard library.
package arn
