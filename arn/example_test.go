package arn_test

import (
	"fmt"

	"github.com/iamdb/iamdb/arn"
)

func ExampleParse() {
	a, err := arn.Parse("arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/alice")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Service, a.Region, a.AccountID, a.Resource)
	fmt.Println(arn.Match("arn:aws:rds-db:*:123456789012:dbuser:*/alice", a.String()))
	// Output:
	// rds-db us-east-1 123456789012 dbuser:db-ABCDEFGHIJKL/alice
	// true
}
