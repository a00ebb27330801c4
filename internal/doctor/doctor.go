package doctor

import (
	"context"
	"time"

	"github.com/iamdb/iamdb/internal/nativesetup"
)

// Options say what Run checks.
type Options struct {
	// The login to check: all three, or none (then only Postgres and Native are checked).
	Hostname string
	Port     int
	Username string

	Engine      string // the server's protocol: "auto" (or ""), "postgres" or "mysql"
	Region      string // the token's region; if empty, an RDS host name's, else the AWS configuration's
	Profile     string // the AWS shared configuration's profile; if empty, the default chain's
	Endpoint    string // the iamdb authority; if empty (real RDS), no identity or verdict is asked
	CAFile      string // CA certificates verifying the server; if empty, the system's roots
	SigningHost string // the host name the token is signed for; if empty, Hostname

	// Token, if set, is the client's own token, checked instead of one doctor signs
	// (never printed); TokenFrom names where it came from ("$PGPASSWORD").
	Token, TokenFrom string
	// DBName is the database the login names; "" for the driver's default (PostgreSQL:
	// the user's name).
	DBName string
	// Client is the client program the login uses (ClientMySQL, …), "" if unknown: it
	// decides the cleartext plugin and localhost socket checks.
	Client string
	// Now is this machine's clock; nil: time.Now.
	Now func() time.Time

	// Postgres is a PostgreSQL backend's connection string (libpq URL or key=value, with
	// its TLS settings), as a superuser, whose pg_hba.conf is checked; "" for none.
	Postgres string
	// PAMDir holds the PAM service files; if empty, /etc/pam.d.
	PAMDir string

	Native Native
}

// Native are the checks of native mode (docs/native-mode.md).
type Native struct {
	// Socket is the local verifier's Unix socket to probe; "" checks nothing of native mode.
	Socket string
	// User and Token ask the verifier about this token (never printed) instead of the
	// one signed for the login.
	User, Token string
	// Source is the client address the verifier is told (PAM_RHOST); "" for none.
	Source string
	// Setup, if not nil, are native-setup's options whose files are compared with the
	// disk (as native-setup --check).
	Setup *nativesetup.Options
}

// Run runs the checks o calls for and returns their results. Its error is for options it
// cannot use: a nativesetup.ErrOptions of o.Native.Setup.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Engine == "" {
		o.Engine = "auto"
	}
	if o.SigningHost == "" {
		o.SigningHost = o.Hostname
	}
	if o.PAMDir == "" {
		o.PAMDir = "/etc/pam.d"
	}
	var rs []Result
	var tok string // signed by the login checks, for native_login
	if o.Hostname != "" && o.Port != 0 && o.Username != "" {
		var login []Result
		login, tok = checkLogin(ctx, o)
		rs = append(rs, login...)
	}
	if o.Postgres != "" {
		rs = append(rs, checkHBA(ctx, o.Postgres, o.PAMDir)...)
	}
	if o.Native.Socket != "" {
		rs = append(rs, checkNative(ctx, o, tok)...)
	}
	if o.Native.Setup != nil {
		setup, err := checkNativeSetup(*o.Native.Setup)
		if err != nil {
			return rs, err
		}
		rs = append(rs, setup...)
		// pam_other: MariaDB's PAM plugin starts PAM per login; its own plugin does not.
		if e := o.Native.Setup.Engine; (e == "mariadb" || e == "mysql") && !o.Native.Setup.Plugin() {
			rs = append(rs, checkPAMOther(*o.Native.Setup))
		}
	}
	return rs, nil
}

// checkNative probes the verifier and, if it answers, asks its verdict on the login's
// token (tok) or o.Native's.
func checkNative(ctx context.Context, o Options, tok string) []Result {
	rs, alive := checkNativeSocket(ctx, o.Native.Socket)
	user := o.Username
	if o.Native.User != "" {
		user, tok = o.Native.User, o.Native.Token
	}
	switch {
	case user == "":
	case !alive:
		rs = append(rs, skip("native_login", "the verifier did not answer"))
	case tok == "":
		rs = append(rs, skip("native_login", "no token was signed (see above)"))
	default:
		rs = append(rs, checkNativeLogin(ctx, o.Native.Socket, user, o.Native.Source, tok))
	}
	return rs
}

// now is o's clock.
func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}
