package client

import "strings"

// RegionFromHost returns the region in an Amazon RDS host name, such as "eu-west-1" in
// "mydb.c9akciq32.eu-west-1.rds.amazonaws.com" (instances, clusters, proxies; also
// ".rds.amazonaws.com.cn"), and false for any other name.
func RegionFromHost(host string) (string, bool) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	var rest string
	switch {
	case strings.HasSuffix(h, ".rds.amazonaws.com"):
		rest = strings.TrimSuffix(h, ".rds.amazonaws.com")
	case strings.HasSuffix(h, ".rds.amazonaws.com.cn"):
		rest = strings.TrimSuffix(h, ".rds.amazonaws.com.cn")
	default:
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 { // at least one label before the region
		return "", false
	}
	region := rest[i+1:]
	if !isRegion(region) {
		return "", false
	}
	return region, true
}

// isRegion reports whether s looks like an AWS region code: lower-case letters in
// dash-separated parts, the last one digits ("us-east-1", "cn-northwest-1",
// "us-gov-west-1").
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range []byte(p) {
			letter := c >= 'a' && c <= 'z'
			digit := c >= '0' && c <= '9'
			if i == len(parts)-1 && !digit || i < len(parts)-1 && !letter {
				return false
			}
		}
	}
	return true
}
