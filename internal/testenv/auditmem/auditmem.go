// Package auditmem is an audit.Reader over a slice, for the tests of LookupEvents and
// "iamdb audit tail" while the real journal (internal/audit's Journal, H8) is written in
// parallel.
//
// TODO(lead): at merge, replace it in those tests with the real journal (audit.Open on a
// temporary directory, events written with Record) and delete this package.
//
// It implements audit.Reader's documented semantics: newest first (ties in the order
// added, later first), at most one attribute (audit.Event.Matches), an inclusive time
// range, Account, Max (1..50) and an opaque Next that is valid only for the same query.
package auditmem

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/iamdb/iamdb/internal/audit"
)

// Reader is an audit.Reader over the events added to it. It is safe for concurrent use.
type Reader struct {
	mu     sync.Mutex
	events []audit.Event // oldest first
	added  chan struct{} // closed and replaced by Add
}

var _ audit.Reader = (*Reader)(nil)

// New returns a Reader holding events.
func New(events ...audit.Event) *Reader {
	r := &Reader{added: make(chan struct{})}
	r.Add(events...)
	return r
}

// Add appends events; an event without an EventID gets one.
func (r *Reader) Add(events ...audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		if e.EventID == "" {
			e.EventID = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(r.events)+1)
		}
		if e.EventVersion == "" {
			e.EventVersion = audit.EventVersion
		}
		r.events = append(r.events, e)
	}
	sort.SliceStable(r.events, func(i, j int) bool { return r.events[i].EventTime.Before(r.events[j].EventTime.Time) })
	close(r.added)
	r.added = make(chan struct{})
}

// Lookup returns one page of q's events, newest first.
func (r *Reader) Lookup(ctx context.Context, q audit.Query) (audit.Page, error) {
	if q.Max < 1 || q.Max > 50 {
		return audit.Page{}, fmt.Errorf("auditmem: Max %d out of 1..50", q.Max)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var match []audit.Event
	for i := len(r.events) - 1; i >= 0; i-- {
		e := &r.events[i]
		t := e.EventTime.Time
		if q.Account != "" && e.RecipientAccountID != q.Account || !audit.Matches(e, q.Attr, q.Value) ||
			!q.Start.IsZero() && t.Before(q.Start) || !q.End.IsZero() && t.After(q.End) {
			continue
		}
		match = append(match, *e)
	}
	off := 0
	if q.Next != "" {
		var err error
		if off, err = decodeNext(q); err != nil {
			return audit.Page{}, err
		}
	}
	if off > len(match) {
		off = len(match)
	}
	end := min(off+q.Max, len(match))
	p := audit.Page{Events: match[off:end]}
	if end < len(match) {
		p.Next = encodeNext(q, end)
	}
	return p, nil
}

// Next tokens are base64(offset || sha256(query without Next and Max)[:8]).
func queryHash(q audit.Query) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %d %d %q", q.Attr, q.Value, q.Start.UnixNano(), q.End.UnixNano(), q.Account)
	return h.Sum(nil)[:8]
}

func encodeNext(q audit.Query, off int) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(off))
	return base64.RawURLEncoding.EncodeToString(append(b, queryHash(q)...))
}

func decodeNext(q audit.Query) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(q.Next)
	if err != nil || len(b) != 12 || string(b[4:]) != string(queryHash(q)) {
		return 0, audit.ErrInvalidNextToken
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

// Scan calls fn with each event at or after from, oldest first; with follow it then waits
// for more until ctx ends.
func (r *Reader) Scan(ctx context.Context, from time.Time, follow bool, fn func(audit.Event) bool) error {
	seen := 0
	for {
		r.mu.Lock()
		evs := append([]audit.Event(nil), r.events[seen:]...)
		seen = len(r.events)
		added := r.added
		r.mu.Unlock()
		for _, e := range evs {
			if e.EventTime.Before(from) {
				continue
			}
			if !fn(e) {
				return nil
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-added:
		}
	}
}
