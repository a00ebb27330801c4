// Package audit is iamdb's trail: one CloudTrail-format record (Event) per authority API
// call, per database login decision (gateway and native mode, eventSource
// rds-db.amazonaws.com, eventName connect) and per workload credential issuance, kept in
// a durable journal that LookupEvents, "iamdb audit tail" and the export read.
//
// Emitters hold a Recorder; readers a Reader. Records never hold secrets.
package audit
