package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	DefaultRetention     = 90 * 24 * time.Hour
	DefaultMaxBytes      = 1 << 30
	DefaultSweepInterval = 10 * time.Minute
	DefaultSyncInterval  = time.Second
)

// Sync is when the journal fsyncs what it has written.
type Sync int

const (
	// SyncInterval (the default): Record returns once its event is written to the segment
	// file (write(2), in the operating system's page cache), so it survives the crash or
	// kill -9 of the process; the committer fsyncs written segments every
	// Options.SyncInterval, so a crash of the machine itself (power loss, kernel panic)
	// loses at most that much. MySQL's innodb_flush_log_at_trx_commit = 2.
	SyncInterval Sync = iota
	// SyncAlways: Record returns once its event is fsync'ed (one fsync per group commit),
	// so it survives the crash of the machine as well.
	SyncAlways
)

// String is the configuration's name of s ("interval", "always").
func (s Sync) String() string {
	switch s {
	case SyncInterval:
		return "interval"
	case SyncAlways:
		return "always"
	}
	return fmt.Sprintf("Sync(%d)", int(s))
}

// ParseSync parses "interval" or "always".
func ParseSync(v string) (Sync, error) {
	switch v {
	case "interval":
		return SyncInterval, nil
	case "always":
		return SyncAlways, nil
	}
	return 0, fmt.Errorf("audit: sync %q: want \"interval\" or \"always\"", v)
}

// MaxEventSize bounds one encoded event (one line of a segment). CloudTrail's own limits
// (requestParameters and responseElements 100 KB each, additionalEventData 28 KB, a few
// 1 KB strings) fit well within it; Record refuses a larger event and readers skip a
// longer line.
const MaxEventSize = 512 << 10

// Errors of the journal.
var (
	// ErrClosed is returned by Record, Lookup and Scan on a closed Journal.
	ErrClosed = errors.New("audit: journal closed")
	// ErrEventTooLarge is returned by Record for an event that encodes to more than
	// MaxEventSize bytes.
	ErrEventTooLarge = errors.New("audit: event too large")
	// ErrBroken is returned by Record after an fsync of the journal failed (or a failed
	// write could not be cut off again): what is on disk is no longer known, and the
	// journal must be reopened. A write that fails (a full disk) fails its batch's
	// Records only.
	ErrBroken = errors.New("audit: journal failed")

	// errWriteUndone marks a failed write that was cut off again: the batch failed, and
	// the journal is intact.
	errWriteUndone = errors.New("write failed and undone")
)

// Options configure a Journal; zero values take the defaults.
type Options struct {
	// Retention: whole segments (hours) older than this are removed. If zero, 90 days.
	Retention time.Duration
	// MaxBytes bounds the journal's size: beyond it the oldest segments are removed, even
	// those younger than Retention (logged at WARN). The segment being written is never
	// removed, so the journal can exceed MaxBytes by up to one hour of events. If zero,
	// 1 GiB.
	MaxBytes int64
	// SweepInterval is how often retention and MaxBytes are applied besides at Open and
	// on each new segment. If zero, 10 minutes.
	SweepInterval time.Duration
	// Sync is when events are fsync'ed: SyncInterval (the zero value) or SyncAlways.
	Sync Sync
	// SyncInterval is how often SyncInterval mode fsyncs written segments. If zero, one
	// second.
	SyncInterval time.Duration
	// Logger receives recovery and retention notes; if nil, they are discarded.
	Logger *slog.Logger
	// Now is the clock (event times, segment choice, retention); if nil, time.Now.
	Now func() time.Time
	// Rand is the source of event IDs; if nil, crypto/rand.
	Rand io.Reader
}

// Journal is iamdb's durable audit trail: an append-only directory of segment files, one
// per UTC hour of eventTime ("20261206T23.jsonl", one JSON event per line, CloudTrail's
// encoding), written by group commit. It implements Recorder and Reader and is safe for
// concurrent use.
//
// Record adds its encoded event to the current batch; if no batch is being written it
// writes the batch itself (one write per segment and, with SyncAlways, one fsync) and
// releases every Record of it, so an uncontended Record costs no hand-off to another
// goroutine. Events arriving while a batch is written form the next one, which the
// writer hands to the committer goroutine when it is done, so under load one write and
// one fsync cover many events. With SyncInterval (the default) the committer fsyncs
// written segments every Options.SyncInterval instead, and at Close.
//
// Open recovers from a crash: a torn last line (a write cut by kill -9 or a power loss) is
// cut off and logged; complete lines are never lost. Lines that do not decode (a damaged
// disk) are skipped by readers.
//
// Only one Journal may have a directory open at a time (a lock file enforces it).
type Journal struct {
	lastStamp time.Time // the last time Record stamped (mu)
	dir       string
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	rand      io.Reader
	lock      *os.File

	mu      sync.Mutex
	cur     *batch
	closed  bool
	broken  error
	sizes   map[int64]int64 // committed size of each segment (by hour) written or seen since Open
	notify  chan struct{}   // closed and replaced at each commit
	randMu  sync.Mutex
	kick    chan struct{} // wakes the committer (capacity 1)
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer returns

	// wmu is held by whoever writes: a Record writing its own batch, or the committer
	// (batches, fsyncs, sweeps). It guards files, dirty and newest.
	wmu     sync.Mutex
	files   map[int64]*os.File
	dirty   map[int64]bool // segments written but not yet fsync'ed (SyncInterval)
	newest  int64          // newest segment hour written (sweep never removes it)
	stats   Stats
	statsMu sync.Mutex
}

// Stats are a Journal's counters since Open.
type Stats struct {
	Events  int64 // events committed
	Batches int64 // batches committed
	Fsyncs  int64 // fsync calls on segment files
}

// batch is the events of one group commit.
type batch struct {
	lines []line
	done  chan struct{}
	err   error
}

// line is one encoded event and its segment.
type line struct {
	hour int64 // segment: Unix time of the hour / 3600
	b    []byte
}

var (
	_ Recorder = (*Journal)(nil)
	_ Reader   = (*Journal)(nil)
)

// Open opens (creating it, 0700) the journal in dir, recovers torn tails, applies
// retention and starts the committer.
func Open(dir string, opts Options) (*Journal, error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	j := &Journal{
		dir: dir, opts: opts, log: opts.Logger, now: opts.Now, rand: opts.Rand,
		cur: &batch{done: make(chan struct{})}, sizes: map[int64]int64{}, notify: make(chan struct{}),
		kick: make(chan struct{}, 1), quit: make(chan struct{}), stopped: make(chan struct{}),
		files: map[int64]*os.File{}, dirty: map[int64]bool{},
	}
	if j.log == nil {
		j.log = slog.New(slog.DiscardHandler)
	}
	if j.now == nil {
		j.now = time.Now
	}
	if j.rand == nil {
		j.rand = rand.Reader
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("audit: %s is in use by another journal: %w", dir, err)
	}
	j.lock = lock
	segs, err := j.segments()
	if err != nil {
		lock.Close()
		return nil, err
	}
	for _, h := range segs {
		if err := j.recover(h); err != nil {
			lock.Close()
			return nil, err
		}
		j.newest = max(j.newest, h)
	}
	j.sweep()
	go j.commit()
	return j, nil
}

// recover cuts a torn last line off segment h and records its size.
func (j *Journal) recover(h int64) error {
	name := filepath.Join(j.dir, segmentName(h))
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	size := fi.Size()
	keep, err := lastNewline(f, size)
	if err != nil {
		return fmt.Errorf("audit: recover %s: %w", name, err)
	}
	if keep < size {
		if err := f.Truncate(keep); err != nil {
			return fmt.Errorf("audit: recover %s: %w", name, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit: recover %s: %w", name, err)
		}
		j.log.Warn("audit: cut a torn last line off a segment (an unacknowledged write of a crash)",
			"segment", segmentName(h), "bytes", size-keep, "kept", keep)
	}
	j.sizes[h] = keep
	return nil
}

// lastNewline returns the offset just after the last '\n' of f's first size bytes (0 if
// there is none).
func lastNewline(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n := int(end - start)
		if _, err := f.ReadAt(buf[:n], start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Record appends e to the journal and returns once it is written to its segment file:
// fsync'ed with SyncAlways, in the page cache (safe from the process's crash, fsync'ed
// within Options.SyncInterval) with SyncInterval. It sets
// e.EventID (a random UUID) and e.EventVersion when empty, and e.EventTime to the current
// time when zero; eventTime is kept to whole seconds, UTC. If ctx ends first, Record
// returns ctx's error, and the event may or may not be written.
func (j *Journal) Record(ctx context.Context, e *Event) error {
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	}
	if e.EventID == "" {
		id, err := j.newID()
		if err != nil {
			return err
		}
		e.EventID = id
	}
	// An event without a time is stamped now, under the lock and never before the
	// previous stamp, so that stamped events are in time order in the files, as Lookup's
	// newest-first reading assumes; an event with its own time keeps it.
	stamp := e.EventTime.IsZero()
	var b []byte
	if !stamp {
		e.EventTime = Time{e.EventTime.UTC().Truncate(time.Second)}
		var err error
		if b, err = encodeEvent(e); err != nil {
			return err
		}
	}

	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	if j.broken != nil {
		err := j.broken
		j.mu.Unlock()
		return err
	}
	if stamp {
		t := j.now().UTC().Truncate(time.Second)
		if t.Before(j.lastStamp) {
			t = j.lastStamp
		}
		j.lastStamp = t
		e.EventTime = Time{t}
		var err error
		if b, err = encodeEvent(e); err != nil {
			j.mu.Unlock()
			return err
		}
	}
	l := line{hour: e.EventTime.Unix() / 3600, b: b}
	bt := j.cur
	bt.lines = append(bt.lines, l)
	j.mu.Unlock()
	if j.wmu.TryLock() {
		// Nobody is writing: write the batch (with this event) here.
		j.flush()
		j.wmu.Unlock()
		j.handOff()
	}
	select {
	case <-bt.done:
		return bt.err
	case <-ctx.Done():
		return fmt.Errorf("audit: record: %w", ctx.Err())
	}
}

// encodeEvent encodes e as one line of a segment: CloudTrail's JSON (no HTML escaping)
// and a '\n'.
func encodeEvent(e *Event) ([]byte, error) {
	b, err := appendEvent(make([]byte, 0, 2048), e)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if len(b) > MaxEventSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrEventTooLarge, len(b), MaxEventSize)
	}
	return b, nil
}

// newID returns a random (version 4) UUID.
func (j *Journal) newID() (string, error) {
	var u [16]byte
	j.randMu.Lock()
	_, err := io.ReadFull(j.rand, u[:])
	j.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("audit: event id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// handOff wakes the committer if events were added while a batch was being written: their
// Records saw the writer busy and wait. A Record adding one after this check finds wmu
// free (it is released before the check) and writes it itself.
func (j *Journal) handOff() {
	j.mu.Lock()
	pending := len(j.cur.lines) > 0
	j.mu.Unlock()
	if !pending {
		return
	}
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// commit is the committer goroutine: it writes the batches handed to it until Close, and
// fsyncs and sweeps.
func (j *Journal) commit() {
	defer close(j.stopped)
	tick := time.NewTicker(j.opts.SweepInterval)
	defer tick.Stop()
	var syncC <-chan time.Time
	if j.opts.Sync == SyncInterval {
		st := time.NewTicker(j.opts.SyncInterval)
		defer st.Stop()
		syncC = st.C
	}
	for {
		select {
		case <-j.kick:
			j.wmu.Lock()
			j.flush()
			j.wmu.Unlock()
			j.handOff()
		case <-syncC:
			j.wmu.Lock()
			j.syncDirty()
			j.wmu.Unlock()
			j.handOff() // Records that found wmu taken by the fsync
		case <-tick.C:
			j.wmu.Lock()
			j.sweep()
			j.wmu.Unlock()
			j.handOff()
		case <-j.quit:
			j.wmu.Lock()
			j.flush() // Records that raced with Close
			j.syncDirty()
			for h, f := range j.files {
				f.Close()
				delete(j.files, h)
			}
			j.wmu.Unlock()
			return
		}
	}
}

// syncDirty fsyncs the segments written since their last fsync (SyncInterval). A failed
// fsync breaks the journal: what is on disk is no longer known.
func (j *Journal) syncDirty() {
	for h := range j.dirty {
		if err := j.syncSegment(h); err != nil {
			j.log.Error("audit: fsync failed; the journal refuses further events until reopened", "segment", segmentName(h), "err", err)
			j.mu.Lock()
			if j.broken == nil {
				j.broken = fmt.Errorf("%w: %w", ErrBroken, err)
			}
			j.mu.Unlock()
			return
		}
	}
}

// syncSegment fsyncs segment h if it is dirty and open (wmu held).
func (j *Journal) syncSegment(h int64) error {
	if !j.dirty[h] {
		return nil
	}
	delete(j.dirty, h)
	f := j.files[h]
	if f == nil {
		return nil
	}
	j.statsMu.Lock()
	j.stats.Fsyncs++
	j.statsMu.Unlock()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync %s: %w", segmentName(h), err)
	}
	return nil
}

// flush writes (and with SyncAlways fsyncs) the current batch, then releases its Records and wakes
// followers. The caller holds wmu.
func (j *Journal) flush() {
	j.mu.Lock()
	bt := j.cur
	if len(bt.lines) == 0 {
		j.mu.Unlock()
		return
	}
	j.cur = &batch{done: make(chan struct{})}
	broken := j.broken
	j.mu.Unlock()

	if broken != nil {
		bt.err = broken
		close(bt.done)
		return
	}
	segs := groupBySegment(bt.lines)
	rotated := false
	var fsyncs int64
	fatal := false
	for i := range segs {
		sg := &segs[i]
		n, created, err := j.append(sg.hour, sg.b)
		if j.opts.Sync == SyncAlways {
			fsyncs++
		}
		if err != nil {
			bt.err = err
			fatal = !errors.Is(err, errWriteUndone)
			segs = segs[:i]
			break
		}
		sg.size = n
		if created && sg.hour > j.newest {
			rotated = true
		}
		j.newest = max(j.newest, sg.hour)
	}
	j.mu.Lock()
	for _, sg := range segs {
		j.sizes[sg.hour] = sg.size
	}
	if fatal && j.broken == nil {
		j.broken = fmt.Errorf("%w: %w", ErrBroken, bt.err)
	}
	close(j.notify)
	j.notify = make(chan struct{})
	j.mu.Unlock()
	j.statsMu.Lock()
	if bt.err == nil {
		j.stats.Events += int64(len(bt.lines))
		j.stats.Batches++
	}
	j.stats.Fsyncs += fsyncs
	j.statsMu.Unlock()
	close(bt.done)
	if rotated {
		j.sweep()
	}
}

// segmentWrite is what one batch writes to one segment.
type segmentWrite struct {
	hour int64
	b    []byte
	size int64 // the segment's size after the write
}

// groupBySegment joins the lines of a batch by segment, keeping their order. A batch
// nearly always falls in one hour, and a batch of one line is written as it is.
func groupBySegment(lines []line) []segmentWrite {
	if len(lines) == 1 {
		return []segmentWrite{{hour: lines[0].hour, b: lines[0].b}}
	}
	var segs []segmentWrite
next:
	for _, l := range lines {
		for i := range segs {
			if segs[i].hour == l.hour {
				segs[i].b = append(segs[i].b, l.b...)
				continue next
			}
		}
		segs = append(segs, segmentWrite{hour: l.hour, b: append([]byte(nil), l.b...)})
	}
	return segs
}

// append writes b at the end of segment h and, with SyncAlways, fsyncs it (with
// SyncInterval it marks the segment dirty); it returns the segment's new
// size and whether it created the file. On a failed write the segment is cut back to its
// committed size, so no partial line stays behind.
func (j *Journal) append(h int64, b []byte) (size int64, created bool, err error) {
	f := j.files[h]
	if f == nil {
		name := filepath.Join(j.dir, segmentName(h))
		_, statErr := os.Stat(name)
		created = errors.Is(statErr, os.ErrNotExist)
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return 0, false, fmt.Errorf("audit: %w", err)
		}
		if created {
			if err := syncDir(j.dir); err != nil {
				f.Close()
				return 0, false, err
			}
		}
		// Keep the newest two segments open; others (late events) are fsync'ed and closed
		// after use.
		j.files[h] = f
		for oh, of := range j.files {
			if oh < h-1 {
				if err := j.syncSegment(oh); err != nil {
					return 0, created, err
				}
				of.Close()
				delete(j.files, oh)
			}
		}
	}
	j.mu.Lock()
	base := j.sizes[h]
	j.mu.Unlock()
	if _, err := f.Write(b); err != nil {
		// Cut the partial write off: the segment is then as committed, and later batches
		// may succeed (a full disk that frees up). If the cut fails, the journal is broken.
		if terr := f.Truncate(base); terr != nil {
			return 0, created, fmt.Errorf("audit: write %s: %w (and truncate: %v)", segmentName(h), err, terr)
		}
		return 0, created, fmt.Errorf("audit: write %s: %w: %w", segmentName(h), errWriteUndone, err)
	}
	if j.opts.Sync == SyncAlways {
		if err := f.Sync(); err != nil {
			return 0, created, fmt.Errorf("audit: fsync %s: %w", segmentName(h), err)
		}
	} else {
		j.dirty[h] = true
	}
	return base + int64(len(b)), created, nil
}

// syncDir fsyncs a directory, making a new file's entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: fsync %s: %w", dir, err)
	}
	return nil
}

// sweep removes segments older than Retention, then the oldest beyond MaxBytes, never
// the newest segment. It runs with wmu held (or in Open, before the committer starts).
func (j *Journal) sweep() {
	segs, err := j.segments()
	if err != nil {
		j.log.Error("audit: list segments", "err", err)
		return
	}
	now := j.now()
	type seg struct {
		h    int64
		size int64
	}
	var keep []seg
	var total int64
	for _, h := range segs {
		end := time.Unix((h+1)*3600, 0)
		if h != j.newest && now.Sub(end) > j.opts.Retention {
			j.remove(h, "retention")
			continue
		}
		fi, err := os.Stat(filepath.Join(j.dir, segmentName(h)))
		if err != nil {
			continue
		}
		keep = append(keep, seg{h, fi.Size()})
		total += fi.Size()
	}
	for i := 0; total > j.opts.MaxBytes && i < len(keep)-1; i++ {
		s := keep[i]
		if s.h == j.newest {
			continue
		}
		j.log.Warn("audit: removing a segment younger than the retention to stay within max_bytes",
			"segment", segmentName(s.h), "bytes", s.size, "max_bytes", j.opts.MaxBytes, "retention", j.opts.Retention)
		j.remove(s.h, "max_bytes")
		total -= s.size
	}
}

// remove deletes segment h.
func (j *Journal) remove(h int64, why string) {
	delete(j.dirty, h)
	if f := j.files[h]; f != nil {
		f.Close()
		delete(j.files, h)
	}
	if err := os.Remove(filepath.Join(j.dir, segmentName(h))); err != nil && !errors.Is(err, os.ErrNotExist) {
		j.log.Error("audit: remove segment", "segment", segmentName(h), "err", err)
		return
	}
	j.mu.Lock()
	delete(j.sizes, h)
	j.mu.Unlock()
	if why == "retention" {
		j.log.Info("audit: removed a segment past the retention", "segment", segmentName(h), "retention", j.opts.Retention)
	}
}

// Stats returns the journal's counters.
func (j *Journal) Stats() Stats {
	j.statsMu.Lock()
	defer j.statsMu.Unlock()
	return j.stats
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// Close writes what was recorded before it, stops the committer and releases the
// directory. Record, Lookup and Scan on a closed Journal return ErrClosed; a following
// Scan wakes and returns. Close twice is a no-op.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.notify) // wake followers; they see closed
	j.notify = make(chan struct{})
	j.mu.Unlock()
	close(j.quit)
	<-j.stopped
	err := j.lock.Close()
	j.mu.Lock()
	broken := j.broken
	j.mu.Unlock()
	if broken != nil {
		return broken
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
