package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// When the client that iamdb connect runs fails to log in, connect adds one line after
// the client's error: the iamdb doctor command that names the cause and its fix.

// loginFailures are what psql, mariadb and mysql print when a login is refused, by the
// gateway or by the database behind it.
var loginFailures = [][]byte{
	[]byte("FATAL:  PAM authentication failed for user"),      // PostgreSQL: any IAM refusal
	[]byte("FATAL:  password authentication failed for user"), // PostgreSQL: a password user
	[]byte("FATAL:  pg_hba.conf rejects connection"),          // no TLS
	[]byte("FATAL:  no pg_hba.conf entry"),                    // the backend's pg_hba.conf
	[]byte("FATAL:  role \""),                                 // … does not exist
	[]byte("FATAL:  database \""),                             // … does not exist
	[]byte("FATAL:  permission denied for database"),          // no CONNECT
	[]byte("ERROR 1045 (28000)"),                              // MySQL: Access denied, any IAM refusal
	[]byte("ERROR 3159 (HY000)"),                              // MySQL: no TLS
	[]byte("ERROR 2059 (HY000)"),                              // Oracle's mysql without the cleartext plugin
	[]byte("ERROR 1044 (42000)"),                              // MySQL: no access to the database
	[]byte("ERROR 1049 (42000)"),                              // MySQL: unknown database
}

// failureTail is how much of the client's output failureWatch keeps to find a message
// split across writes: more than the longest of loginFailures.
const failureTail = 128

// failureWatch passes a client's standard error through to w and notes whether it held
// a refused login's message.
type failureWatch struct {
	w    io.Writer
	tail []byte
	seen bool
}

func (f *failureWatch) Write(p []byte) (int, error) {
	if !f.seen {
		buf := append(f.tail, p...)
		for _, m := range loginFailures {
			if bytes.Contains(buf, m) {
				f.seen = true
				break
			}
		}
		if len(buf) > failureTail {
			buf = buf[len(buf)-failureTail:]
		}
		f.tail = append(f.tail[:0], buf...)
	}
	return f.w.Write(p)
}

// doctorHint is connect's line after a refused login: the doctor command for the same
// login.
func doctorHint(kind string, tf tokenFlags, signingHost, dbname, caFile string) string {
	engine := "postgres"
	if kind == "mysql" {
		engine = "mysql"
	}
	args := []string{"iamdb", "doctor", "--hostname", tf.hostname, "--port", strconv.Itoa(tf.port), "--username", tf.username, "--engine", engine}
	if dbname != "" {
		args = append(args, "--dbname", dbname)
	}
	if signingHost != tf.hostname {
		args = append(args, "--signing-host", signingHost)
	}
	if tf.region != "" {
		args = append(args, "--region", tf.region)
	}
	if tf.profile != "" {
		args = append(args, "--profile", tf.profile)
	}
	args = append(args, "--ca-file", caFile)
	for i, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r == '-' || r == '.' || r == '/' || r == '_' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			args[i] = shellQuote(a)
		}
	}
	return fmt.Sprintf("iamdb connect: the login was refused; the cause and its fix: %s\n", strings.Join(args, " "))
}
