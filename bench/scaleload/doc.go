// Command scaleload is bench/scale.sh's helper. "scaleload load" fills a stopped iamdb
// dev's store (its SQLite file and master key) with users, access keys and roles straight
// through the store, as the API would write them but many to a transaction
// (iam.Populate). "scaleload mutate" makes IAM changes (TagUser on the loaded users)
// through the authority's API at a fixed rate with the credentials of the environment
// (D/env's admin), and prints their latency percentiles.
//
//	scaleload load -store D/iamdb.db -master-key D/master.key -account 123456789012 -users 100000 -keys-per-user 2 -roles 50000
//	scaleload mutate -users 100000 -n 500 -rate 50
package main
