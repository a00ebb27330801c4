// Package tail follows an iamdb authority's audit trail from outside, as "iamdb audit
// tail" does: it asks CloudTrail's LookupEvents (the JSON 1.1 protocol, signed with SigV4
// for cloudtrail) for every event since a start time, page by page, and returns the
// events not returned before, oldest first. Asked again ([Tailer.Next]), it asks from a
// little before the newest event it returned (Lag), because events recorded concurrently
// may carry an older time, and drops the ones it already returned.
//
// It is not a reader of the journal itself (package audit's Reader is) and does not
// print: the caller renders the events' CloudTrail records. A sweep holds at most
// MaxEvents events; answers are bounded to 64 MiB.
package tail
