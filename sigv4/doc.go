// Package sigv4 implements AWS Signature Version 4: the canonical request, the string to sign,
// derived signing keys, header signatures and presigned (query) signatures, and verification
// of presigned requests.
//
// It is a pure core: no I/O, no logging, standard library only. The hot path of iamdb — the
// verification of an RDS auth token, which is a presigned GET URL — uses the allocation-free
// pieces of this package directly: [Query] parses a presigned query into spans of the original
// string, [Query.AppendCanonical] writes the canonical query string, and [KeyCache] keeps the
// derived signing keys, which depend only on (secret, day, region, service).
//
// Specification: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
//
// The flow of a signature:
//
//	canonical request = method \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash
//	string to sign    = "AWS4-HMAC-SHA256" \n date \n scope \n hex(SHA256(canonical request))
//	signing key       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, day), region), service), "aws4_request")
//	signature         = hex(HMAC(signing key, string to sign))
//
// It is not an HTTP client or server and does not fetch credentials.
package sigv4
