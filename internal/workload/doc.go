// Package workload serves role credentials to unmodified AWS SDKs and CLIs through the two
// endpoints they already know how to ask:
//
//   - IMDS: an EC2 instance-metadata-compatible endpoint (IMDSv2), bound by the operator to
//     an instance profile (resolved at each request, so that the profile may be created,
//     or get its role, after the endpoint starts) or to a role. SDKs find it with
//     AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT/.
//   - Container: the container-credentials endpoint of ECS and EKS Pod Identity, bound to
//     a role, found with AWS_CONTAINER_CREDENTIALS_FULL_URI and
//     AWS_CONTAINER_AUTHORIZATION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
//
// Both hand out sessions issued by the authority itself (iam.Service.AssumeRoleForWorkload):
// no trust policy is evaluated, because binding an endpoint to a role is the operator's
// decision, exactly as associating an instance profile with an EC2 instance is. Whoever
// can reach an endpoint gets the role: bind it to loopback (the default of iamdb serve).
//
// It is not the AWS Query API, nor web identity (AssumeRoleWithWebIdentity), and it reads no
// environment and no files: cmd/iamdb wires it.
//
// # Message flow (IMDSv2, as aws-sdk-go-v2 and botocore do it)
//
//	client                                   IMDS
//	PUT /latest/api/token
//	  X-aws-ec2-metadata-token-ttl-seconds: 21600
//	                                      ─► 200 token; X-Aws-Ec2-Metadata-Token-Ttl-Seconds: 21600
//	GET /latest/meta-data/iam/security-credentials/
//	  X-aws-ec2-metadata-token: token    ─► 200 "role-name"
//	GET /latest/meta-data/iam/security-credentials/role-name
//	  X-aws-ec2-metadata-token: token    ─► 200 {"Code":"Success","Type":"AWS-HMAC",
//	                                           "AccessKeyId":"ASIA…",…,"Expiration":"…Z"}
//
// A token is "v1." + base64url(expiry in Unix seconds, 8 bytes big-endian || HMAC-SHA256 of
// the expiry under a random per-endpoint key, first 16 bytes): self-contained, verified
// without state, dead when the endpoint restarts (SDKs then ask for a new one: a 401 makes
// aws-sdk-go-v2 and botocore fetch a token again). A GET without a token is refused with
// 401 unless IMDSv1 is allowed (IMDSConfig.AllowIMDSv1); a GET with an invalid or expired
// token is always 401. Requests carrying X-Forwarded-For are refused with 403, as IMDS does
// for tokens, so that a proxy on the machine cannot relay them. Bodies are refused beyond
// 1 KiB; tokens are at most 128 bytes.
//
// Region discovery: botocore asks for /latest/meta-data/placement/availability-zone/ (and
// drops the last letter), aws-sdk-go-v2's imds.GetRegion reads
// /latest/dynamic/instance-identity/document; both are served, with placement/region.
//
// # Rotation
//
// Sessions last IMDSConfig.SessionDuration (default one hour, capped by the role's
// MaxSessionDuration). A Cache hands out the same session until less than a third of its
// lifetime remains (20 minutes of an hour), then issues a new one: clients that refresh
// when their copy nears expiry (botocore 15 minutes before, 10 at the latest;
// aws-sdk-go-v2 five minutes before for container credentials, at expiry for IMDS) always
// get a session with at least 20 minutes left. A session stays valid until its own expiry after rotation, so credentials an SDK
// holds keep working. If issuing fails while the cached session still has time left, the
// cached one is served (and the failure logged).
//
// Audit: with an Audit recorder, each issuance of a session (not each request served from
// the cache) and each refusal by the role's trust policy is recorded as CloudTrail records
// an AWS service assuming a role (IssuanceEvent), before the session is handed out.
//
// Secrets never reach a log: Credentials redacts itself, tokens are never logged.
package workload
