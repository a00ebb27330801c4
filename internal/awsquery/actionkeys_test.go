package awsquery

import (
	"testing"

	"github.com/iamdb/iamdb/internal/iam"
)

// Every action the API serves is one whose condition keys iamdb knows (iam.ActionKnown),
// so that no action is authorized without the keys AWS evaluates for it.
func TestActionKeysCoverAPI(t *testing.T) {
	free := map[string]bool{"sts:GetCallerIdentity": true, "sts:GetSessionToken": true}
	for prefix, ops := range map[string]map[string]handler{"iam:": iamOps(), "sts:": stsOps(), "rds:": rdsOps()} {
		for op := range ops {
			action := prefix + op
			switch op {
			case "VerifyDBAuthToken":
				action = "rds-db:VerifyAuthToken" // iamdb's own operation, authorized as this action
			case "ListUnusedAccess":
				action = "iam:GetCredentialReport" // iamdb's own, authorized as these two
				if !iam.ActionKnown("iam:GetServiceLastAccessedDetails") {
					t.Error("ListUnusedAccess is authorized as iam:GetServiceLastAccessedDetails, whose condition keys iam.actionKeys does not list")
				}
			}
			if !free[action] && !iam.ActionKnown(action) {
				t.Errorf("the API serves %s, whose condition keys iam.actionKeys does not list", action)
			}
		}
	}
}
