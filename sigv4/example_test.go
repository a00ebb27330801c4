package sigv4_test

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/iamdb/iamdb/sigv4"
)

func Example() {
	creds := sigv4.Credentials{AccessKeyID: "access_key", SecretAccessKey: "secret_key"}
	signedAt := time.Date(2016, 11, 7, 17, 39, 33, 0, time.UTC)
	s := &sigv4.Signer{Keys: sigv4.NewKeyCache(0)}

	// A client presigns an RDS auth token...
	r, _ := http.NewRequest("GET", "https://host.us-east-1.amazonaws.com:3306/?Action=connect&DBUser=mySQLUser", nil)
	signed, err := s.PresignHTTP(r, creds, sigv4.EmptyPayloadHash, "rds-db", "us-east-1", signedAt, 15*time.Minute)
	if err != nil {
		panic(err)
	}
	fmt.Println(creds) // secrets are redacted

	// ...and a server verifies it.
	u, _ := url.Parse(signed)
	secretFor := func(akid string) (string, error) { return "secret_key", nil }
	v, err := s.VerifyPresigned(&sigv4.Request{Host: u.Host, Path: u.EscapedPath(), Query: u.RawQuery},
		secretFor, signedAt.Add(time.Minute), 5*time.Minute)
	fmt.Println(v.AccessKeyID, v.Region, v.Service, v.Expires, err)
	// Output:
	// sigv4.Credentials{AccessKeyID: "access_key", SecretAccessKey: [redacted], SessionToken: ""}
	// access_key us-east-1 rds-db 15m0s <nil>
}
