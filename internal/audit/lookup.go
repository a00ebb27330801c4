package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Errors of Lookup, one per LookupEvents error the API maps them to (errors.Is).
var (
	// ErrInvalidLookupAttributes: an unknown attribute key, or an empty or over-long
	// value (InvalidLookupAttributesException).
	ErrInvalidLookupAttributes = errors.New("audit: invalid lookup attributes")
	// ErrInvalidTimeRange: Start after End (InvalidTimeRangeException).
	ErrInvalidTimeRange = errors.New("audit: invalid time range")
	// ErrInvalidMaxResults: Max outside 0..50 (InvalidMaxResultsException).
	ErrInvalidMaxResults = errors.New("audit: invalid max results")
	// ErrInvalidNextToken: a Next that is not a token of this query
	// (InvalidNextTokenException).
	ErrInvalidNextToken = errors.New("audit: invalid next token")
)

// MaxLookup is the largest page of Lookup (and its default).
const MaxLookup = 50

// maxAttrValue bounds a lookup attribute's value (LookupEvents: 2000 characters).
const maxAttrValue = 2000

// Username is the name LookupEvents matches and shows as Username: userIdentity.userName
// when set (IAM users, and the root user when the emitter sets it); for a role session
// (AssumedRole) the session name, the part of principalId after ':' or else the last
// part of the ARN; "root" for the root user without a userName; else "". CloudTrail shows
// a role session's name as the user name of its events, which is what operators search
// for (an instance ID, a pod's session name, a person's name from a SAML assertion).
func Username(e *Event) string {
	u := &e.UserIdentity
	if u.UserName != "" {
		return u.UserName
	}
	switch u.Type {
	case "AssumedRole":
		if _, s, ok := strings.Cut(u.PrincipalID, ":"); ok && s != "" {
			return s
		}
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 {
			return u.ARN[i+1:]
		}
	case "Root":
		return "root"
	}
	return ""
}

// ResourceName is the name LookupEvents matches for a resource: its ARN's last part
// (after the last '/' or, without one, the last ':'); a Lookup by ResourceName matches
// either that or the whole ARN.
func ResourceName(r Resource) string {
	if i := strings.LastIndexByte(r.ARN, '/'); i >= 0 {
		return r.ARN[i+1:]
	}
	if i := strings.LastIndexByte(r.ARN, ':'); i >= 0 {
		return r.ARN[i+1:]
	}
	return r.ARN
}

// Matches says whether e has the lookup attribute attr (one of the Attr constants; "" matches
// every event) with value v, as LookupEvents compares them.
func Matches(e *Event, attr, v string) bool {
	switch attr {
	case "":
		return true
	case AttrEventID:
		return e.EventID == v
	case AttrEventName:
		return e.EventName == v
	case AttrReadOnly:
		return (v == "true" && e.ReadOnly) || (v == "false" && !e.ReadOnly)
	case AttrUsername:
		return Username(e) == v
	case AttrResourceType:
		for _, r := range e.Resources {
			if r.Type == v {
				return true
			}
		}
	case AttrResourceName:
		for _, r := range e.Resources {
			if r.ARN == v || ResourceName(r) == v {
				return true
			}
		}
	case AttrEventSource:
		return e.EventSource == v
	case AttrAccessKeyID:
		return e.UserIdentity.AccessKeyID == v
	}
	return false
}

// filter is a compiled Query: a cheap test on the raw line (needed, not sufficient)
// before decoding, then the exact one.
type filter struct {
	q       Query
	needles [][]byte // every one must occur in the line
}

// compile validates q and builds its filter.
func compile(q Query) (*filter, error) {
	switch q.Attr {
	case "", AttrEventID, AttrEventName, AttrReadOnly, AttrUsername, AttrResourceType, AttrResourceName,
		AttrEventSource, AttrAccessKeyID:
	default:
		return nil, fmt.Errorf("%w: unknown attribute key %q", ErrInvalidLookupAttributes, q.Attr)
	}
	if q.Attr != "" && (q.Value == "" || len(q.Value) > maxAttrValue) {
		return nil, fmt.Errorf("%w: the value of %s must be 1 to %d characters", ErrInvalidLookupAttributes, q.Attr, maxAttrValue)
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return nil, fmt.Errorf("%w: start time %s is after end time %s", ErrInvalidTimeRange,
			q.Start.UTC().Format(TimeFormat), q.End.UTC().Format(TimeFormat))
	}
	if q.Max < 0 || q.Max > MaxLookup {
		return nil, fmt.Errorf("%w: %d is not between 1 and %d", ErrInvalidMaxResults, q.Max, MaxLookup)
	}
	f := &filter{q: q}
	switch q.Attr {
	case "":
	case AttrReadOnly:
		f.needles = append(f.needles, []byte(`"readOnly":`+q.Value))
	case AttrUsername:
		// Contained in userName, principalId or arn, however it is derived.
		f.needles = append(f.needles, jsonString(q.Value))
	default:
		f.needles = append(f.needles, jsonString(q.Value))
	}
	if q.Account != "" {
		f.needles = append(f.needles, []byte(`"recipientAccountId":"`+string(jsonString(q.Account))+`"`))
	}
	return f, nil
}

// jsonString is s as it appears inside a JSON string of a segment (without quotes).
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return b[1 : len(b)-1]
}

// inRange says whether t is within q's time range.
func (f *filter) inRange(t time.Time) bool {
	return (f.q.Start.IsZero() || !t.Before(f.q.Start.Truncate(time.Second))) && (f.q.End.IsZero() || !t.After(f.q.End))
}

// segmentInRange says whether segment h can hold events of q's time range.
func (f *filter) segmentInRange(h int64) bool {
	start, end := time.Unix(h*3600, 0), time.Unix((h+1)*3600, 0)
	return (f.q.Start.IsZero() || end.After(f.q.Start.Truncate(time.Second))) && (f.q.End.IsZero() || !start.After(f.q.End))
}

// match decodes l if it may match, and says whether it does.
func (f *filter) match(l []byte) (Event, bool) {
	for _, n := range f.needles {
		if !bytes.Contains(l, n) {
			return Event{}, false
		}
	}
	if !f.q.Start.IsZero() || !f.q.End.IsZero() {
		if t, ok := eventTimeOf(l); ok && !f.inRange(t) {
			return Event{}, false
		}
	}
	e, err := decodeLine(l)
	if err != nil {
		return Event{}, false
	}
	if !f.inRange(e.EventTime.Time) || !Matches(&e, f.q.Attr, f.q.Value) {
		return Event{}, false
	}
	if f.q.Account != "" && e.RecipientAccountID != f.q.Account {
		return Event{}, false
	}
	return e, true
}

// digest binds a token to its query: the attribute, the value, the range and the account
// (not Max: a paginator may change the page size).
func (q Query) digest() [8]byte {
	h := sha256.New()
	for _, s := range []string{q.Attr, q.Value, q.Account} {
		binary.Write(h, binary.BigEndian, int64(len(s)))
		h.Write([]byte(s))
	}
	for _, t := range []time.Time{q.Start, q.End} {
		var v int64
		if !t.IsZero() {
			v = t.UnixNano()
		}
		binary.Write(h, binary.BigEndian, v)
	}
	var d [8]byte
	copy(d[:], h.Sum(nil))
	return d
}

// token is a Lookup position: continue with the lines of segment hour that start
// before off, then older segments.
type token struct {
	hour, off int64
}

// tokenLen is the decoded length of a token: "v1" version byte, hour, offset, digest.
const tokenLen = 1 + 8 + 8 + 8

// encodeToken makes q's Next for position t.
func encodeToken(q Query, t token) string {
	b := make([]byte, tokenLen)
	b[0] = 1
	binary.BigEndian.PutUint64(b[1:], uint64(t.hour))
	binary.BigEndian.PutUint64(b[9:], uint64(t.off))
	d := q.digest()
	copy(b[17:], d[:])
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken reads q.Next.
func decodeToken(q Query) (token, error) {
	if len(q.Next) > 2*tokenLen {
		return token{}, fmt.Errorf("%w: malformed", ErrInvalidNextToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(q.Next)
	if err != nil || len(b) != tokenLen || b[0] != 1 {
		return token{}, fmt.Errorf("%w: malformed", ErrInvalidNextToken)
	}
	d := q.digest()
	if !bytes.Equal(b[17:], d[:]) {
		return token{}, fmt.Errorf("%w: it belongs to a query with other parameters", ErrInvalidNextToken)
	}
	t := token{hour: int64(binary.BigEndian.Uint64(b[1:])), off: int64(binary.BigEndian.Uint64(b[9:]))}
	if t.off < 0 {
		return token{}, fmt.Errorf("%w: malformed", ErrInvalidNextToken)
	}
	return t, nil
}

// committedSize is how much of segment h readers may read: its committed size if the
// journal knows it, else its size on disk.
func (j *Journal) committedSize(h int64, f *os.File) (int64, error) {
	j.mu.Lock()
	n, ok := j.sizes[h]
	j.mu.Unlock()
	if ok {
		return n, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return lastNewline(f, fi.Size())
}

// isClosed reports ErrClosed.
func (j *Journal) isClosed() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	return nil
}

// Lookup returns one page of q's events, newest first: segments newest first, and within
// a segment (one hour of eventTime) the last recorded first. Segments outside q's time
// range are not read; lines are decoded only when a test on their raw bytes lets them
// through. Next continues after the page's last event; it is "" when no more events
// match. Errors are ErrInvalidLookupAttributes, ErrInvalidTimeRange,
// ErrInvalidMaxResults, ErrInvalidNextToken (errors.Is), ErrClosed, or I/O errors.
func (j *Journal) Lookup(ctx context.Context, q Query) (Page, error) {
	if err := j.isClosed(); err != nil {
		return Page{}, err
	}
	f, err := compile(q)
	if err != nil {
		return Page{}, err
	}
	limit := q.Max
	if limit == 0 {
		limit = MaxLookup
	}
	var from *token
	if q.Next != "" {
		t, err := decodeToken(q)
		if err != nil {
			return Page{}, err
		}
		from = &t
	}
	segs, err := j.segments()
	if err != nil {
		return Page{}, err
	}
	var page Page
	var last token // position of the page's last event
	full := false
	for i := len(segs) - 1; i >= 0; i-- {
		h := segs[i]
		if from != nil && h > from.hour {
			continue
		}
		if !f.segmentInRange(h) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return Page{}, fmt.Errorf("audit: lookup: %w", err)
		}
		more, err := j.lookupSegment(h, from, f, func(e Event, start int64) bool {
			if full {
				return false // one more match: there is a next page
			}
			page.Events = append(page.Events, e)
			last = token{hour: h, off: start}
			full = len(page.Events) == limit
			return true
		})
		if err != nil {
			return Page{}, err
		}
		if more {
			page.Next = encodeToken(q, last)
			return page, nil
		}
	}
	return page, nil
}

// openSegment opens segment h and returns its committed size; the file is nil, with no
// error, if the segment is gone (removed by retention meanwhile).
func (j *Journal) openSegment(h int64) (*os.File, int64, error) {
	file, err := os.Open(filepath.Join(j.dir, segmentName(h)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("audit: %w", err)
	}
	end, err := j.committedSize(h, file)
	if err != nil {
		file.Close()
		return nil, 0, fmt.Errorf("audit: %w", err)
	}
	return file, end, nil
}

// lookupSegment calls fn with each event of segment h matching f, last first, from the
// token's position if it is in h; it returns true if fn stopped.
func (j *Journal) lookupSegment(h int64, from *token, f *filter, fn func(Event, int64) bool) (bool, error) {
	file, end, err := j.openSegment(h)
	if file == nil || err != nil {
		return false, err
	}
	defer file.Close()
	if from != nil && from.hour == h {
		end = min(end, from.off)
	}
	stopped := false
	err = reverseLines(file, end, func(l []byte, start int64) bool {
		e, ok := f.match(l)
		if !ok {
			return true
		}
		if !fn(e, start) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil {
		return false, fmt.Errorf("audit: read %s: %w", segmentName(h), err)
	}
	return stopped, nil
}

// Scan calls fn with each event whose eventTime is at or after from, oldest first
// (segments by hour, and within one in recording order), until fn returns false. With
// follow it then waits for new events (woken by each commit) and passes them on, until
// ctx ends (Scan then returns nil) or the journal closes (ErrClosed). An event recorded
// late into an older hour's segment reaches a follower after the newer events it has
// seen.
func (j *Journal) Scan(ctx context.Context, from time.Time, follow bool, fn func(Event) bool) error {
	if err := j.isClosed(); err != nil {
		return err
	}
	from = from.Truncate(time.Second)
	fromHour := int64(-1 << 62)
	if !from.IsZero() {
		fromHour = from.Unix() / 3600
		if from.Unix() < 0 && from.Unix()%3600 != 0 {
			fromHour--
		}
	}
	pos := map[int64]int64{} // bytes of each segment passed on
	j.mu.Lock()
	wake := j.notify
	j.mu.Unlock()
	segs, err := j.segments()
	if err != nil {
		return err
	}
	for {
		for _, h := range segs {
			if h < fromHour {
				continue
			}
			if err := ctx.Err(); err != nil {
				if follow {
					return nil
				}
				return fmt.Errorf("audit: scan: %w", err)
			}
			stop, err := j.scanSegment(h, pos, from, fn)
			if err != nil {
				return err
			}
			if stop {
				return nil
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		}
		// The segments that grew: those the committer wrote since (every segment is in
		// sizes from Open or its first commit on).
		j.mu.Lock()
		wake = j.notify
		closed := j.closed
		segs = segs[:0]
		for h, n := range j.sizes {
			if h >= fromHour && n > pos[h] {
				segs = append(segs, h)
			}
		}
		j.mu.Unlock()
		if closed {
			return ErrClosed
		}
		slices.Sort(segs)
	}
}

// scanSegment passes on segment h's events from pos[h] to its committed end, and moves
// pos[h]; it returns true if fn stopped.
func (j *Journal) scanSegment(h int64, pos map[int64]int64, from time.Time, fn func(Event) bool) (bool, error) {
	file, end, err := j.openSegment(h)
	if file == nil || err != nil {
		return false, err
	}
	defer file.Close()
	start := pos[h]
	if end <= start {
		return false, nil
	}
	stopped := false
	n, err := forwardLines(io.NewSectionReader(file, start, end-start), func(l []byte, _ int64) bool {
		e, err := decodeLine(l)
		if err != nil || e.EventTime.Before(from) {
			return true
		}
		if !fn(e) {
			stopped = true
			return false
		}
		return true
	})
	pos[h] = start + n
	if err != nil {
		return false, fmt.Errorf("audit: read %s: %w", segmentName(h), err)
	}
	return stopped, nil
}
