package gateway

import (
	"errors"
	"testing"

	"github.com/iamdb/iamdb/internal/mysqlwire"
	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRefusalTables checks that each engine words every refusal of the login flow, and
// the wording of those the access matrix does not reach.
func TestRefusalTables(t *testing.T) {
	t.Parallel()
	for k := refuseSilently; k <= refuseByBackend; k++ {
		if pgRefusals[k] == nil || mysqlRefusals[k] == nil {
			t.Errorf("refusal %d: no entry in pgRefusals or mysqlRefusals", k)
		}
	}
	if len(pgRefusals) != int(refuseByBackend) || len(mysqlRefusals) != int(refuseByBackend) {
		t.Errorf("refusal tables of %d and %d entries, want %d", len(pgRefusals), len(mysqlRefusals), refuseByBackend)
	}
	pg := []struct {
		r    refusal
		want pgwire.Error
	}{
		{refusal{kind: refuseInvalidUser, detail: "control character"}, pgwire.Error{Severity: "FATAL", Code: "28000", Message: "invalid user name: control character"}},
		{refusal{kind: refuseUnavailable}, pgwire.Error{Severity: "FATAL", Code: "57P03", Message: "the database system is not available"}},
		{refusal{kind: refuseShutdown}, pgwire.Error{Severity: "FATAL", Code: "57P03", Message: "the database system is shutting down"}},
		{refusal{kind: refusePoolTimeout}, pgwire.Error{Severity: "FATAL", Code: "53300", Message: "no backend connection available in time"}},
		{refusal{kind: refuseDenied, user: "u", detail: "expired"}, pgwire.Error{Severity: "FATAL", Code: "28000", Message: `PAM authentication failed for user "u"`, Detail: "reason: expired"}},
		{refusal{kind: refuseByBackend, err: &pgconn.PgError{Code: "3D000", Message: `database "x" does not exist`}}, pgwire.Error{Severity: "FATAL", Code: "3D000", Message: `database "x" does not exist`}},
	}
	for _, tt := range pg {
		if got := pgRefusals[tt.r.kind](tt.r, nil); got == nil || *got != tt.want {
			t.Errorf("pgRefusals[%d](%+v) = %+v, want %+v", tt.r.kind, tt.r, got, tt.want)
		}
	}
	my := []struct {
		r    refusal
		want mysqlwire.Error
	}{
		{refusal{kind: refuseUnavailable}, mysqlwire.Error{Code: 1053, SQLState: "08S01", Message: "the database server is not available"}},
		{refusal{kind: refuseShutdown}, mysqlwire.Error{Code: 1053, SQLState: "08S01", Message: "the gateway is shutting down"}},
		{refusal{kind: refusePoolTimeout}, mysqlwire.Error{Code: 1040, SQLState: "08004", Message: "no backend connection available in time"}},
		{refusal{kind: refuseDenied, user: "u", host: "10.0.0.1", usingPassword: true, detail: "expired"}, mysqlwire.Error{Code: 1045, SQLState: "28000", Message: "Access denied for user 'u'@'10.0.0.1' (using password: YES) (reason: expired)"}},
		{refusal{kind: refuseByBackend, err: &mysqlwire.Error{Code: 1049, SQLState: "42000", Message: "Unknown database 'x'"}}, mysqlwire.Error{Code: 1049, SQLState: "42000", Message: "Unknown database 'x'"}},
	}
	for _, tt := range my {
		if got := mysqlRefusals[tt.r.kind](tt.r, nil); got == nil || *got != tt.want {
			t.Errorf("mysqlRefusals[%d](%+v) = %+v, want %+v", tt.r.kind, tt.r, got, tt.want)
		}
	}
	if pgRefusals[refuseSilently](refusal{}, nil) != nil || mysqlRefusals[refuseSilently](refusal{}, nil) != nil {
		t.Error("a silent refusal sends an error")
	}
	var declined passwordDeclined
	if err := error(passwordDeclined{mysqlwire.ErrCleartextNotEnabled}); !errors.As(err, &declined) || !errors.Is(err, mysqlwire.ErrCleartextNotEnabled) || err.Error() != mysqlwire.ErrCleartextNotEnabled.Error() {
		t.Errorf("passwordDeclined %v: not declined, or not the client's error", err)
	}
}
