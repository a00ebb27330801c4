package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"

	"github.com/iamdb/iamdb/client"
)

// regionCreds is a CredentialsProvider with a Region method, as AWSCredentials has.
type regionCreds struct {
	client.CredentialsProvider
	region string
}

func (p regionCreds) Region() string { return p.region }

func TestTokenSourceRegion(t *testing.T) {
	t.Parallel()
	static := client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "secret", "")
	const rdsHost = "mydb.c9akciq32.eu-west-1.rds.amazonaws.com"
	tests := []struct {
		name      string
		cfgRegion string
		creds     client.CredentialsProvider
		target    client.Target
		want      string
	}{
		{"target's", "us-east-1", regionCreds{static, "sa-east-1"}, client.Target{Host: rdsHost, Region: "ap-south-1"}, "ap-south-1"},
		{"config's", "us-east-1", regionCreds{static, "sa-east-1"}, client.Target{Host: rdsHost}, "us-east-1"},
		{"host's", "", regionCreds{static, "sa-east-1"}, client.Target{Host: rdsHost}, "eu-west-1"},
		{"credentials'", "", regionCreds{static, "sa-east-1"}, client.Target{Host: "db.internal"}, "sa-east-1"},
		{"none", "", static, client.Target{Host: "db.internal"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := client.NewTokenSource(client.Config{Credentials: tt.creds, Region: tt.cfgRegion})
			if err != nil {
				t.Fatal(err)
			}
			tt.target.Port, tt.target.User = 5432, "app"
			got, err := s.Region(tt.target)
			if tt.want == "" {
				if !errors.Is(err, client.ErrNoRegion) {
					t.Errorf("Region(%v) = %q, %v; want ErrNoRegion", tt.target, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Region(%v) = %q, %v; want %q", tt.target, got, err, tt.want)
			}
		})
	}
}

func TestAWSCredentialsSource(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	creds, err := client.AWSDefaultCredentials(context.Background(), client.AWSOptions{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := creds.Retrieve(context.Background())
	if err != nil || c.Source != "EnvConfigCredentials" {
		t.Errorf("Retrieve() = %v (source %q), %v; want source EnvConfigCredentials", c, c.Source, err)
	}
}

// A tool that prints the region a token is signed for asks the TokenSource, which applies
// the same rules as Token.
func ExampleTokenSource_Region() {
	src, err := client.NewTokenSource(client.Config{
		Credentials: client.StaticCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
	})
	if err != nil {
		log.Fatal(err)
	}
	region, err := src.Region(client.Target{Host: "mydb.c9akciq32.eu-west-1.rds.amazonaws.com", Port: 5432, User: "app"})
	fmt.Println(region, err)
	_, err = src.Region(client.Target{Host: "db.internal", Port: 5432, User: "app"})
	fmt.Println(errors.Is(err, client.ErrNoRegion))
	// Output:
	// eu-west-1 <nil>
	// true
}
