package devenv

import (
	"slices"
	"strings"
	"testing"

	"github.com/iamdb/iamdb/internal/server"
)

func TestDevAccountsAndIMDS(t *testing.T) {
	cfg := server.DefaultConfig()
	dev := cfg.Bootstrap.AccountID
	if err := addAccounts(&cfg, []string{"222233334444", "333344445555"}); err != nil {
		t.Fatal(err)
	}
	if got := []string{cfg.Accounts[0].ID, cfg.Accounts[1].ID}; !slices.Equal(got, []string{"222233334444", "333344445555"}) {
		t.Fatalf("accounts %v", got)
	}
	if cfg.Accounts[0].AdminKeyFile != "admin-credentials-222233334444" {
		t.Errorf("admin key file %q", cfg.Accounts[0].AdminKeyFile)
	}
	vars, err := addIMDS(&cfg,
		[]string{"pgdemo-db-access-profile", "arn:aws:iam::222233334444:instance-profile/ops/pgmonitor-access-profile", "App.Profile_2"},
		[]string{"127.0.0.1:8090"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"IAMDB_IMDS_ENDPOINT_PGDEMO_DB_ACCESS_PROFILE", "IAMDB_IMDS_ENDPOINT_PGMONITOR_ACCESS_PROFILE", "IAMDB_IMDS_ENDPOINT_APP_PROFILE_2"}
	if !slices.Equal(vars, want) {
		t.Errorf("variables %q, want %q", vars, want)
	}
	wantIMDS := []server.IMDSEndpointConfig{
		{Listen: "127.0.0.1:8090", InstanceProfile: "arn:aws:iam::" + dev + ":instance-profile/pgdemo-db-access-profile"},
		{Listen: "127.0.0.1:0", InstanceProfile: "arn:aws:iam::222233334444:instance-profile/ops/pgmonitor-access-profile"},
		{Listen: "127.0.0.1:0", InstanceProfile: "arn:aws:iam::" + dev + ":instance-profile/App.Profile_2"},
	}
	if !slices.Equal(cfg.IMDS, wantIMDS) {
		t.Errorf("imds %+v, want %+v", cfg.IMDS, wantIMDS)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}

	for _, c := range []struct {
		accounts, profiles []string
		want               string
	}{
		{accounts: []string{"12345"}, want: "an account id is 12 digits"},
		{accounts: []string{dev}, want: "is the dev account itself"},
		{accounts: []string{"222233334444", "222233334444"}, want: "given twice"},
		{profiles: []string{"arn:aws:iam::999999999999:instance-profile/x"}, want: "account 999999999999 is neither the dev account nor an --account"},
		{profiles: []string{"arn:aws:iam::" + dev + ":role/x"}, want: "not the ARN of an IAM instance-profile"},
		{profiles: []string{"bad name!"}, want: "neither an ARN nor a name"},
		{profiles: []string{"a-b", "a.b"}, want: "would both be $IAMDB_IMDS_ENDPOINT_A_B"},
	} {
		cfg := server.DefaultConfig()
		err := addAccounts(&cfg, c.accounts)
		if err == nil {
			_, err = addIMDS(&cfg, c.profiles, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("accounts %q profiles %q: error %v, want %q", c.accounts, c.profiles, err, c.want)
		}
	}
}
