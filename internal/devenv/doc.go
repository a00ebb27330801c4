// Package devenv assembles what "iamdb dev" runs on one machine with zero configuration:
// a throwaway PostgreSQL and, when it is installed, a throwaway MariaDB (localdb), a dev CA
// and server certificate kept in the state directory, native mode (PAM service files and
// pam_iamdb.so) when run as root, the server.Config that registers the databases behind
// gateways on the ports it binds, the server itself (server.New), and D/env, the file to
// source that points the AWS CLI, the SDKs, psql and mariadb at it.
//
// It is not the command line: cmd/iamdb parses dev's flags into a Config, prints what
// Start returns and runs the server.
//
// # Using it
//
//	env, err := devenv.Start(ctx, devenv.Config{Dir: ".iamdb", Region: "us-east-1", …}, devenv.Options{Logger: log})
//	if err != nil { … }      // Start undid what it did
//	defer env.Close()        // stops the throwaway databases, removes the PAM service files
//	err = env.Server.Run(ctx)
package devenv
