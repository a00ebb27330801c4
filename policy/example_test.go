package policy_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/iamdb/iamdb/policy"
)

// Example evaluates rds-db:connect the way the gateway does: policies compiled once, one
// Context per connection refilled for each login.
func Example() {
	doc := []byte(`{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "ConnectAsSelf",
	    "Effect": "Allow",
	    "Action": "rds-db:connect",
	    "Resource": "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/${aws:username}",
	    "Condition": {"Bool": {"aws:SecureTransport": "true"}}
	  }]
	}`)
	p, err := policy.Parse(doc, policy.WithName("arn:aws:iam::111122223333:policy/db-connect"))
	if err != nil {
		panic(err)
	}

	principal, err := policy.PrincipalFromARN("arn:aws:iam::111122223333:user/alice")
	if err != nil {
		panic(err)
	}
	var ctx policy.Context // kept per connection; Reset before each request
	ctx.Reset()
	ctx.SetPrincipal(principal)
	ctx.Set(policy.KeyCurrentTime, policy.Date(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)))
	ctx.Set(policy.KeySecureTransport, policy.Bool(true))
	ctx.Set(policy.KeySourceIP, policy.IP(netip.MustParseAddr("10.1.2.3")))

	in := &policy.Input{
		Action:    "rds-db:connect",
		Resource:  "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/alice",
		Principal: principal,
		Context:   &ctx,
		Identity:  []*policy.Policy{p},
	}
	d := policy.Evaluate(in)
	fmt.Println(d.Effect, d.Policy, d.Statement)

	in.Resource = "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKL/postgres"
	fmt.Println(policy.Evaluate(in).Effect)
	// Output:
	// allowed arn:aws:iam::111122223333:policy/db-connect ConnectAsSelf
	// implicitDeny
}

func ExampleParse_error() {
	_, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"rds-db:connect"}]}`))
	fmt.Println(err)
	// Output:
	// policy: malformed policy document: Statement[0] (Sid "A"): Resource: policy statement must contain resources
}
