# Checks iamdb's export with the AWS CLI v1's own validate-logs code
# (awscli/customizations/cloudtrail/validation.py): digest key pattern and date, required
# fields, the SHA256withRSA signature, and log file hashes as the CLI computes them.
# Usage: python3 awscli_validate.py CASES.json; prints one line per case: "ok" or "fail: …".
import base64, gzip, hashlib, json, re, sys

from awscli.customizations.cloudtrail import validation as v

cases = json.load(open(sys.argv[1]))
for c in cases:
    try:
        key, bucket = c["key"], c["bucket"]
        with open(c["file"], "rb") as f:
            inflated = gzip.decompress(f.read())
        data = json.loads(inflated.decode())
        provider = v.DigestProvider(None, c["account"], c["trail"], c["home"], c["region"])
        if not re.match(provider._create_digest_key_regex(None), key):
            raise Exception("key does not match the CLI's digest key pattern")
        v.parse_date(v.extract_digest_key_date(key))
        for k in v.DigestTraverser.required_digest_keys:
            if k not in data:
                raise Exception("missing " + k)
        if data["digestS3Bucket"] != bucket or data["digestS3Object"] != key:
            raise Exception("has been moved")
        data["_signature"] = c["signature"]
        v.Sha256RSADigestValidator().validate(bucket, key, c["public_key"], data, inflated)
        for log in data["logFiles"]:
            with open(c["root"] + "/" + log["s3Object"], "rb") as f:
                if hashlib.sha256(gzip.decompress(f.read())).hexdigest() != log["hashValue"]:
                    raise Exception("log hash value doesn't match: " + log["s3Object"])
        print("ok")
    except Exception as e:
        print("fail: %s: %s" % (type(e).__name__, str(e).replace("\n", " ")))
