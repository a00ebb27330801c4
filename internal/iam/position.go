package iam

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Position is a place in a policy document as the simulator reports it: a 1-based line
// and a 1-based column counted in characters.
type Position struct {
	Line   int
	Column int
}

// maxSpanDoc bounds the documents statementSpan scans; longer ones get no positions.
const maxSpanDoc = 1 << 20

// statementSpan returns where the statement labelled label (its Sid, or "Statement[i]",
// 0-based, when it has none, as policy.Decision names it; the first match wins) starts
// and ends in doc, in AWS's convention: StartPosition is just after the statement's
// opening brace and EndPosition just after its closing brace, so the statement's text
// runs from the character before StartPosition up to EndPosition. A single statement
// object in place of the array is Statement[0]. ok is false when doc does not scan or
// has no such statement.
func statementSpan(doc, label string) (start, end Position, ok bool) {
	open, closing, ok := statementOffsets(doc, label)
	if !ok {
		return Position{}, Position{}, false
	}
	return positionAt(doc, open+1), positionAt(doc, closing), true
}

// statementOffsets returns the byte offsets of the statement's opening brace and just
// after its closing brace: doc[open:closing] is the statement object.
func statementOffsets(doc, label string) (open, closing int, ok bool) {
	if len(doc) > maxSpanDoc {
		return 0, 0, false
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		if k, _ := t.(string); k != "Statement" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return 0, 0, false
			}
			continue
		}
		switch t, err := dec.Token(); {
		case err != nil:
			return 0, 0, false
		case t == json.Delim('{'):
			return statementObject(dec, 0, label)
		case t == json.Delim('['):
			for i := 0; dec.More(); i++ {
				if t, err := dec.Token(); err != nil || t != json.Delim('{') {
					return 0, 0, false
				}
				open, closing, ok := statementObject(dec, i, label)
				if ok {
					return open, closing, true
				}
				if closing < 0 {
					return 0, 0, false
				}
			}
		}
		return 0, 0, false
	}
	return 0, 0, false
}

// statementObject reads the rest of statement i, whose opening brace dec has just
// returned, and reports whether its label is label. closing is -1 if it does not scan.
func statementObject(dec *json.Decoder, i int, label string) (open, closing int, ok bool) {
	open = int(dec.InputOffset()) - 1
	sid := ""
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, -1, false
		}
		if k, _ := t.(string); k == "Sid" {
			var v any
			if dec.Decode(&v) != nil {
				return 0, -1, false
			}
			sid, _ = v.(string)
			continue
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return 0, -1, false
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return 0, -1, false
	}
	closing = int(dec.InputOffset())
	if sid == "" {
		return open, closing, label == "Statement["+strconv.Itoa(i)+"]"
	}
	return open, closing, label == sid
}

// positionAt is the position of byte offset o of doc. Line breaks are "\n", "\r\n" and
// a lone "\r" (only whitespace between JSON tokens can hold them).
func positionAt(doc string, o int) Position {
	line, ls := 1, 0
	for i := 0; i < o; i++ {
		switch doc[i] {
		case '\r':
			if i+1 < o && doc[i+1] == '\n' {
				i++
			}
			fallthrough
		case '\n':
			line++
			ls = i + 1
		}
	}
	return Position{Line: line, Column: utf8.RuneCountInString(doc[ls:o]) + 1}
}
