// Package gatewayenv is the environment an iamdb gateway runs in, for the tests of the
// gateway, the client libraries and the iamdb command: an authority on a temporary store
// (testenv/authority) with a fixed cast of IAM users, a CA and its client-certificate
// cache, and real PostgreSQL and MariaDB servers started from the system's binaries
// (localdb, localdbtest) holding the matching database users. Everything listens on
// loopback and reads one testenv.Clock, so tests jump past token and credential expiry
// without sleeping.
//
// The cast (see the constants): alice may connect as alice, nina and pwuser (her inline
// policy "connect", statement "Connect") and may assume RoleName; bob has no policy; carol
// is denied explicitly (statement "NoCarol"); dave's key is inactive; nina is an IAM
// database user through a group role; pwuser logs in with Password.
//
// Env.Site binds a gateway's listener, registers its database and issues its certificate;
// it does not import the gateway, so that the gateway's own tests can use it. The
// subpackage gatewayrun starts real gateways on sites for everyone else.
//
// A test binary shares one environment per set of servers (a binary that tests both
// engines can hold two, so that a missing MariaDB skips only the MySQL tests):
//
//	var shared = &gatewayenv.Shared{Options: gatewayenv.Options{Postgres: true}}
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		shared.Close()
//		os.Exit(code)
//	}
//
//	func TestLogin(t *testing.T) {
//		e := shared.Get(t)
//		site := e.Site(t, gatewayenv.Postgres)
//		g, err := gateway.New(gateway.Config{Database: site.Database, Certificate: &site.Certificate,
//			Logger: site.Logs.Logger(), Now: e.Clock.Now, … })
//		…
//		site.Serve(t, g, gateway.ErrServerClosed)
//		password := site.Token(t, "alice", "alice", time.Time{})
//		…
//	}
//
// It is for tests only; repo_test.go keeps it out of production code.
package gatewayenv
