// Prints an RDS IAM auth token made by @aws-sdk/rds-signer, for iamdb's token compatibility
// tests (token/compat_test.go).
//
// Usage: node sign.mjs HOSTNAME PORT USERNAME REGION
//
// Credentials come from the SDK's default Node provider chain, so set AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and, for temporary credentials, AWS_SESSION_TOKEN. Signing needs no
// network.
import { Signer } from "@aws-sdk/rds-signer";

const [hostname, port, username, region] = process.argv.slice(2);
if (!hostname || !port || !username || !region) {
  console.error("usage: node sign.mjs HOSTNAME PORT USERNAME REGION");
  process.exit(2);
}
const signer = new Signer({ hostname, port: Number(port), username, region });
try {
  process.stdout.write((await signer.getAuthToken()) + "\n");
} catch (err) {
  console.error(`sign.mjs: ${err.message}`);
  process.exit(1);
}
