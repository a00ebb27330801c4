// Package client signs RDS IAM database authentication tokens for applications that connect
// to Amazon RDS, Aurora or an iamdb gateway, and hands a fresh one to every new connection.
//
// A [TokenSource] turns AWS credentials into tokens for a [Target] (user, host, port, region)
// and caches each until a margin before it expires — 15 minutes after signing, or earlier
// when the credentials that signed it expire first, the cause of random "PAM authentication
// failed" errors with instance and assumed-role credentials. It signs at most one token at
// a time per target, keeps no global state and starts no goroutines. Tokens are [Token]
// values whose String, GoString, Format, LogValue and MarshalJSON never reveal them.
//
//	src, err := client.NewTokenSource(client.Config{Credentials: creds})
//	tok, err := src.Token(ctx, client.Target{Host: "db.example.com", Port: 5432, User: "app"})
//	password := tok.Value()
//
// Credentials come from a [CredentialsProvider]: [AWSDefaultCredentials] (the AWS SDK's
// standard chain: environment, profiles with role_arn, web identity, container and instance
// metadata, plus an optional role to assume), [StaticCredentials], [EnvCredentials] or any
// function. The package exports no AWS SDK types; an aws.CredentialsProvider of your own
// adapts with a [CredentialsProviderFunc] of three lines.
//
// The signing host is the name the database knows itself by, which need not be the address
// dialed (SSH tunnels, port forwards, custom DNS names): the adapters dial what the driver
// config says and sign for what the Target says. The region is the Target's, else the
// Config's, else the one in an RDS host name, else the AWS configuration's.
// [TokenSource.Region] reports it without signing, for tools that print it.
//
// Failures are *[Error] values wrapping one kind ([ErrNoCredentials], [ErrExpiredCredentials],
// [ErrNoRegion], [ErrInvalidTarget], [ErrInvalidConfig], [ErrInsecureTransport]) with a hint.
//
// The driver adapters are in client/pgxauth (pgx, pgxpool and database/sql through pgx's
// stdlib) and client/mysqlauth (go-sql-driver/mysql). Both refuse to send a token over a
// connection without TLS, before dialing.
//
// This package does not verify tokens (see package token) and does not open connections.
//
// Reference: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html
package client
