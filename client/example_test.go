package client_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/iamdb/iamdb/client"
)

func Example() {
	signedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	src, err := client.NewTokenSource(client.Config{
		Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		Now:         func() time.Time { return signedAt },
	})
	if err != nil {
		log.Fatal(err)
	}
	// The region comes from the RDS host name.
	tok, err := src.Token(context.Background(), client.Target{
		Host: "mydb.c9akciq32.eu-west-1.rds.amazonaws.com", Port: 5432, User: "app",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok) // redacted
	fmt.Println(strings.Split(tok.Value(), "&X-Amz-Algorithm")[0])
	// Output:
	// client.Token{app@mydb.c9akciq32.eu-west-1.rds.amazonaws.com:5432, expires 2026-01-02T03:19:05Z, [redacted]}
	// mydb.c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app
}

// Sign for the name the database knows itself by while dialing a tunnel: the Target is the
// signing host; where to dial is the driver's business.
func ExampleTarget_tunnel() {
	tgt := client.Target{Host: "mydb.c9akciq32.us-east-1.rds.amazonaws.com", Port: 5432, User: "app"}
	dial := "127.0.0.1:15432" // ssh -L 15432:mydb…:5432 bastion
	fmt.Println("dial", dial, "sign for", tgt.Endpoint())
	// Output: dial 127.0.0.1:15432 sign for mydb.c9akciq32.us-east-1.rds.amazonaws.com:5432
}

// The AWS SDK's standard chain, with a role to assume on top.
func ExampleAWSDefaultCredentials() {
	ctx := context.Background()
	creds, err := client.AWSDefaultCredentials(ctx, client.AWSOptions{
		Profile:         "prod",
		RoleARN:         "arn:aws:iam::123456789012:role/db-connect",
		RoleSessionName: "billing-api",
	})
	if err != nil {
		log.Fatal(err)
	}
	src, err := client.NewTokenSource(client.Config{Credentials: creds})
	if err != nil {
		log.Fatal(err)
	}
	_ = src
}

// An aws.CredentialsProvider you already have (here: the one of an aws.Config) adapts in
// three lines; this package exports no AWS SDK types.
func ExampleCredentialsProviderFunc() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	var p aws.CredentialsProvider = cfg.Credentials
	creds := client.CredentialsProviderFunc(func(ctx context.Context) (client.Credentials, error) {
		c, err := p.Retrieve(ctx)
		return client.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken, CanExpire: c.CanExpire, Expires: c.Expires}, err
	})
	src, err := client.NewTokenSource(client.Config{Credentials: creds, Region: cfg.Region})
	if err != nil {
		log.Fatal(err)
	}
	_ = src
}

// Hooks feed metrics: mints, cache hits and failures per target.
func ExampleConfig_hooks() {
	var mints, hits int
	src, _ := client.NewTokenSource(client.Config{
		Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		Region:      "us-east-1",
		OnMint:      func(client.Target, time.Time, time.Duration) { mints++ },
		OnCacheHit:  func(client.Target) { hits++ },
		OnError:     func(t client.Target, err error) { fmt.Println(t, err) },
	})
	for range 3 {
		src.Token(context.Background(), client.Target{Host: "db.internal", Port: 5432, User: "app"})
	}
	src.Token(context.Background(), client.Target{Host: "db.internal", Port: 5432})
	fmt.Println(mints, "mint,", hits, "cache hits")
	// Output:
	// @db.internal:5432 client: token: invalid target (hint: the target needs a database user)
	// 1 mint, 2 cache hits
}
