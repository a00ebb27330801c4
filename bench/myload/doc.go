// Command myload is bench/mysql.sh's load tool for MySQL servers and the MySQL gateway
// (go-sql-driver/mysql over TLS):
//
//	myload -mode connect [-c N] [-d D] -addr HOST:PORT -user U -password-env VAR -ca FILE [-db DB]
//	myload -mode select  [-c N] [-d D] … -rows R
//
// connect opens a connection, runs "select 1" and closes it, in a loop on each of N
// clients (pgbench -C's pattern); select keeps N connections and runs primary-key point
// selects on table sbtest1 (id 1..R; sysbench's oltp_point_select), as prepared
// statements. It prints the rate and the failures. The password is read from an
// environment variable so that a token never appears in a process list.
//
// myload -mode prepare … creates and fills sbtest1 with R rows.
package main
