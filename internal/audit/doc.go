// Package audit is iamdb's trail: one CloudTrail-format record (Event) per authority API
// call, per database login decision (gateway and native mode, eventSource
// rds-db.amazonaws.com, eventName connect) and per workload credential issuance, kept in
// a durable journal that LookupEvents, "iamdb audit tail" and the export read.
//
// Emitters hold a Recorder; readers a Reader. Records never hold secrets.
//
// Journal is both: a directory of append-only segment files, one per UTC hour of
// eventTime ("20261206T23.jsonl", one record per line, CloudTrail's JSON), written by
// group commit (Record returns once its batch is fsync'ed; one fsync per batch), recovered
// at Open (a torn last line is cut off), bounded by a retention and a size, and read
// newest first by Lookup (LookupEvents' semantics, see Query and Username) or oldest first
// by Scan (which can follow new events). It is not a database: there are no indexes, so a
// Lookup reads the segments of its time range backwards, testing each raw line before it
// decodes it; nor is it tamper-evident by itself (the export's signed digests are).
package audit
