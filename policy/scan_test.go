package policy

import (
	"errors"
	"reflect"
	"testing"
)

// scanCases are documents for scanJSON: whether it takes them (the rest go to
// encoding/json), and seeds for FuzzScanJSON.
var scanCases = []struct {
	name string
	doc  string
	ok   bool
}{
	{"typical", typicalPolicy, true},
	{"scalars", `{"a":[1,-0,0.5,-12.25e+3,1E9,true,false,null,"",{},[]]}`, true},
	{"escapes", `{"k\"\\\/\n\r\t":"\u00e9\u0041 \t"}`, true},
	{"white space", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", true},
	{"nested to the limit", `[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]`, true},
	{"too deep", `[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]`, false},
	{"duplicate key", `{"a":1,"a":2}`, false},
	{"trailing comma", `{"a":1,}`, false},
	{"trailing comma in array", `[1,]`, false},
	{"missing colon", `{"a" 1}`, false},
	{"leading zero", `{"a":01}`, false},
	{"bare minus", `{"a":-}`, false},
	{"fraction without digits", `{"a":1.}`, false},
	{"exponent without digits", `{"a":1e}`, false},
	{"two documents", `{} {}`, false},
	{"trailing garbage", `{}x`, false},
	{"literal run-on", `[truex]`, false},
	{"unterminated string", `{"a":"b`, false},
	{"raw control character", "{\"a\":\"b\x01\"}", false},
	{"raw tab in a string", "{\"a\":\"b\tc\"}", false},
	{"escape of a character policies refuse", `{"a":"\u0100"}`, false},
	{"backspace escape", `{"a":"\b"}`, false},
	{"surrogate escape", `{"a":"\ud83d\ude00"}`, false},
	{"bad escape", `{"a":"\x"}`, false},
	{"short unicode escape", `{"a":"\u00"}`, false},
	{"empty", ``, false},
	{"single quotes", `{'a':1}`, false},
}

func TestScanJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range scanCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := scanJSON([]byte(tc.doc))
			if ok != tc.ok {
				t.Fatalf("scanJSON(%q) ok = %v, want %v", tc.doc, ok, tc.ok)
			}
			want, err := decodeJSONStd([]byte(tc.doc))
			if !ok {
				return
			}
			if err != nil {
				t.Fatalf("scanJSON(%q) took a document that encoding/json refuses: %v", tc.doc, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("scanJSON(%q) = %s, want %s", tc.doc, dumpJSON(got), dumpJSON(want))
			}
		})
	}
}

// TestParseFallsBack: documents scanJSON does not take get encoding/json's verdict.
func TestParseFallsBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{`{"Version":"2012-10-17","Version":"2012-10-17"}`, `policy: malformed policy document: duplicate key "Version"`},
		{`{"Version":"2012-10-17",}`, `policy: malformed policy document: syntax error at offset 24: '}' looking for beginning of object key string`},
		{`{"Statement":{"Effect":"Allow","Action":"\u0100","Resource":"*"}}`, `policy: malformed policy document: character U+0100 is not allowed (only tab, line feed, carriage return and U+0020 to U+00FF)`},
	} {
		_, err := Parse([]byte(tc.doc))
		if !errors.Is(err, ErrMalformed) || err.Error() != tc.want {
			t.Errorf("Parse(%q) = %v, want %s", tc.doc, err, tc.want)
		}
	}
	// A key escaped beyond what scanJSON takes is still a key.
	doc := `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:\u0100x":"v"}}}}`
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("Parse(%q) = %v, want a policy", doc, err)
	}
}
