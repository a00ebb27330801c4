// Package sigv4 implements AWS Signature Version 4: the canonical request, the string to sign,
// derived signing keys, header signatures and presigned (query) signatures, and their
// verification.
//
// [Signer] signs outgoing requests ([Signer.SignHTTP], [Signer.PresignHTTP]) and verifies
// incoming ones ([Signer.VerifyPresigned], [Signer.VerifyHeader]); its fields choose the
// canonical path (S3's single escaping, or the other services' double escaping with
// normalisation) and an optional [KeyCache]. [Signer.CanonicalRequest] and [StringToSign]
// expose the intermediate strings. Verification errors are sentinels that never quote
// secrets, signatures or session tokens; every length a peer controls is bounded
// ([MaxQueryLen], [MaxParams], [MaxAuthorizationLen], [MaxSignedHeaders]). Time is always an
// argument: there is no clock inside.
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
// It is not an HTTP client or server, does not fetch credentials and does not speak SigV4a
// (ECDSA). It checks a credential scope's form and day, not which regions or services the
// caller serves: that, and whether a session token belongs to its access key, is the caller's
// to check.
//
// Tests: testdata/v4 holds the public AWS SigV4 test suite's cases (awslabs/aws-c-auth,
// Apache-2.0), checked in header and query mode; a differential test compares signatures with
// aws-sdk-go-v2's signer.
package sigv4
