// Package export delivers the audit trail as CloudTrail delivers it to S3, into a local
// directory, and verifies what it delivered the way "aws cloudtrail validate-logs" does
// (REFERENCE.md §8, "Record" and "Log file integrity validation").
//
// An Exporter reads events from an audit.Reader (Scan, follow) and writes, under Dir:
//
//	AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 random>.json.gz
//	    {"Records":[…]}: the events of one account and region received since the last
//	    delivery; one file per account and region per delivery interval (default 5 min),
//	    none for an idle interval. The time in the name and the day directory are the
//	    delivery time.
//	AWSLogs/<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/<acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>.json.gz
//	    the hourly digest of that account and region: CloudTrail's fields, the log files
//	    delivered during [digestStartTime, digestEndTime) with the hex SHA-256 of their
//	    uncompressed content, and the previous digest's object, hash and signature (all
//	    null in the first digest of a chain). An idle hour still gets a digest, with
//	    logFiles []. The time in the name and the day directory are digestEndTime.
//	<digest>.sig
//	    the digest's signature, which CloudTrail keeps in the S3 object metadata
//	    (x-amz-meta-signature, x-amz-meta-signature-algorithm): JSON
//	    {"signature":"<hex>","signatureAlgorithm":"SHA256withRSA"}.
//	public-keys/<fingerprint>.pem
//	    the public keys that signed digests, PEM "RSA PUBLIC KEY" (PKCS #1 DER, the bytes
//	    of ListPublicKeys' Value).
//
// Signatures are RSA PKCS #1 v1.5 with SHA-256 over CloudTrail's signed string:
//
//	digestEndTime + "\n" + digestS3Bucket + "/" + digestS3Object + "\n" +
//	hex(sha256(uncompressed digest)) + "\n" + previousDigestSignature ("null" for the first)
//
// The digest's bucket is Config.Bucket, by default the base name of Dir; a digest's
// S3 object is its path relative to Dir with forward slashes.
//
// Decisions:
//   - The key fingerprint (digestPublicKeyFingerprint) is the hex SHA-256 of the DER
//     PKCS #1 RSAPublicKey. AWS does not document its algorithm.
//   - The signing key (RSA 3072) is generated on first use and kept in StateDir
//     (export-key.pem, 0600); the position and the digest chains in StateDir
//     (export-state.json), written atomically after every delivery. After a restart the
//     exporter continues where it stopped and continues the chains; hours it was down
//     get idle digests.
//   - Delivered files are never rewritten: they are created under a temporary name,
//     made read-only (0444) and linked into place, which fails if the name exists. A
//     digest rebuilt after a crash is byte-identical (PKCS #1 v1.5 is deterministic) and
//     accepted as already delivered. A crash between a log file's delivery and the state
//     write delivers its events again in a new file, as CloudTrail may.
//   - Each logFiles entry carries one extension CloudTrail does not have,
//     eventHashValues: the hex SHA-256 of each record's JSON, in file order. It is
//     covered by the signature, and lets VerifyDir say which events of a modified file
//     were edited, removed, added or reordered. The aws CLI ignores it.
//
// VerifyDir walks each chain from the newest digest to the oldest along the previous*
// pointers and checks every digest's location, signature and chain hash and every log
// file's hash, reporting with validate-logs' words. The public keys must come from a
// trusted copy: keys read from the export directory itself prove nothing against whoever
// can write it.
//
// This package does not ship to S3 and does not serve ListPublicKeys.
package export
