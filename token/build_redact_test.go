package token

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "IQoJb3JpZ2luX2VjEXAMPLESESSION"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("creds", "c", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("creds", "c", c)
	outs := []string{logs.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c), fmt.Sprintf(verb, []Credentials{c}))
	}
	for _, out := range outs {
		if strings.Contains(out, c.SecretAccessKey) || strings.Contains(out, c.SessionToken) {
			t.Errorf("printed a secret: %s", out)
		}
	}
	if !strings.Contains(logs.String(), "AKIDEXAMPLE") {
		t.Errorf("the access key ID is not logged: %s", logs.String())
	}
}
