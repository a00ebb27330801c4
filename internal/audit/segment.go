package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// segmentLayout names a segment by its UTC hour: "20261206T23.jsonl".
const (
	segmentLayout = "20060102T15"
	segmentSuffix = ".jsonl"
)

// segmentName is the file name of the segment of hour h (Unix time / 3600).
func segmentName(h int64) string {
	return time.Unix(h*3600, 0).UTC().Format(segmentLayout) + segmentSuffix
}

// parseSegmentName returns the hour of a segment's file name.
func parseSegmentName(name string) (int64, bool) {
	base, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(base) != len(segmentLayout) {
		return 0, false
	}
	t, err := time.Parse(segmentLayout, base)
	if err != nil {
		return 0, false
	}
	return t.Unix() / 3600, true
}

// segments lists the segments' hours, oldest first. Other files are ignored.
func (j *Journal) segments() ([]int64, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var out []int64
	for _, e := range ents {
		if h, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out, nil
}

// forwardLines calls fn with each complete line of r (without its '\n') and the offset
// just after it, in order, until fn returns false; fn must not keep the line. A line
// longer than MaxEventSize is skipped; a last line without '\n' is not a line (a torn
// write). It returns the offset just after the last complete line read.
func forwardLines(r io.Reader, fn func(line []byte, end int64) bool) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var off, start int64 // bytes read; start of the current line
	var long bool        // the current line is longer than MaxEventSize
	var acc []byte       // the current line's fragments, when longer than the buffer
	for {
		frag, err := br.ReadSlice('\n')
		off += int64(len(frag))
		switch {
		case err == nil: // frag ends with '\n'
			l := frag[:len(frag)-1]
			if len(acc) > 0 {
				acc = append(acc, l...)
				l = acc
			}
			if !long && len(l) <= MaxEventSize && !fn(l, off) {
				return off, nil
			}
			long, acc, start = false, acc[:0], off
		case errors.Is(err, bufio.ErrBufferFull):
			if !long {
				acc = append(acc, frag...)
				if len(acc) > MaxEventSize {
					long, acc = true, acc[:0]
				}
			}
		case err == io.EOF:
			return start, nil
		default:
			return start, err
		}
	}
}

// reverseLines calls fn with each complete line of f's bytes [0, end) (without its '\n')
// and the offset where it starts, last line first, until fn returns false. end must be
// just after a '\n' (or 0). Lines longer than MaxEventSize are skipped.
func reverseLines(f io.ReaderAt, end int64, fn func(line []byte, start int64) bool) error {
	const chunk = 64 << 10
	buf := make([]byte, 0, 2*chunk)
	// buf holds bytes [pos, pos+len(buf)) of the file, ending just before the part
	// already delivered; its first line may be incomplete.
	pos := end
	skipping := false // the current line (at buf's end) is too long: drop it
	for {
		if pos > 0 {
			n := int64(chunk)
			if pos < n {
				n = pos
			}
			next := make([]byte, int(n), int(n)+len(buf))
			if _, err := f.ReadAt(next, pos-n); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			buf = append(next, buf...)
			pos -= n
		}
		// Deliver every line of buf that starts after a '\n' in buf (or at offset 0).
		for {
			if len(buf) == 0 {
				return nil
			}
			// buf ends with '\n' (the end of a line) or is the rest of the file's start.
			body := buf
			if body[len(body)-1] == '\n' {
				body = body[:len(body)-1]
			}
			i := bytes.LastIndexByte(body, '\n')
			if i < 0 && pos > 0 {
				if len(buf) > MaxEventSize+1 {
					// An over-long line: forget what we have of it and skip the rest.
					skipping = true
					buf = buf[:0]
				}
				break // read more
			}
			lineStart := i + 1
			l := body[lineStart:]
			if skipping {
				skipping = false
			} else if len(l) <= MaxEventSize {
				if !fn(l, pos+int64(lineStart)) {
					return nil
				}
			}
			buf = buf[:lineStart]
			if lineStart == 0 {
				if pos == 0 {
					return nil
				}
				break
			}
		}
		if pos == 0 && len(buf) == 0 {
			return nil
		}
	}
}

// decodeLine decodes one line as an Event; lines that are not a JSON object of an event
// (a damaged disk) are an error.
func decodeLine(l []byte) (Event, error) {
	var e Event
	if len(l) == 0 || l[0] != '{' {
		return e, errors.New("audit: not an event")
	}
	if err := json.Unmarshal(l, &e); err != nil {
		return e, fmt.Errorf("audit: %w", err)
	}
	if e.EventID == "" || e.EventTime.IsZero() {
		return e, errors.New("audit: not an event")
	}
	return e, nil
}

// eventTimeOf reads a line's eventTime without decoding it (the prefilter of time
// ranges); ok is false when it cannot.
func eventTimeOf(l []byte) (time.Time, bool) {
	const key = `"eventTime":"`
	i := bytes.Index(l, []byte(key))
	if i < 0 || len(l) < i+len(key)+len(TimeFormat) {
		return time.Time{}, false
	}
	s := l[i+len(key) : i+len(key)+len(TimeFormat)]
	t, err := time.Parse(TimeFormat, string(s))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
