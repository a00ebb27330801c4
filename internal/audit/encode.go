package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendEvent appends e's JSON to b: byte for byte what encoding/json writes for it with
// HTML escaping off (FuzzAppendEvent compares the two), without reflection over the
// struct, whose encoding was most of a login's audit cost. The free-form maps
// (requestParameters, responseElements, additionalEventData) are written here when flat
// maps of strings and booleans (a login's), through encoding/json otherwise.
func appendEvent(b []byte, e *Event) ([]byte, error) {
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, e.EventVersion)
	b = append(b, `,"userIdentity":`...)
	b = appendUserIdentity(b, &e.UserIdentity)
	b = append(b, `,"eventTime":`...)
	b = appendTime(b, e.EventTime)
	b = appendField(b, "eventSource", e.EventSource)
	b = appendField(b, "eventName", e.EventName)
	b = appendField(b, "awsRegion", e.AWSRegion)
	b = appendField(b, "sourceIPAddress", e.SourceIPAddress)
	b = appendOmitEmpty(b, "userAgent", e.UserAgent)
	b = appendOmitEmpty(b, "errorCode", e.ErrorCode)
	b = appendOmitEmpty(b, "errorMessage", e.ErrorMessage)
	var err error
	b = append(b, `,"requestParameters":`...)
	if b, err = appendMap(b, e.RequestParameters); err != nil {
		return nil, err
	}
	b = append(b, `,"responseElements":`...)
	if b, err = appendMap(b, e.ResponseElements); err != nil {
		return nil, err
	}
	if len(e.AdditionalEventData) > 0 {
		b = append(b, `,"additionalEventData":`...)
		if b, err = appendMap(b, e.AdditionalEventData); err != nil {
			return nil, err
		}
	}
	b = appendOmitEmpty(b, "requestID", e.RequestID)
	b = appendField(b, "eventID", e.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, e.ReadOnly)
	if len(e.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			r := &e.Resources[i]
			b = append(b, `{"ARN":`...)
			b = appendString(b, r.ARN)
			b = appendOmitEmpty(b, "accountId", r.AccountID)
			b = appendOmitEmpty(b, "type", r.Type)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendField(b, "eventType", e.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, e.ManagementEvent)
	b = appendField(b, "recipientAccountId", e.RecipientAccountID)
	b = appendField(b, "eventCategory", e.EventCategory)
	if t := e.TLSDetails; t != nil {
		b = append(b, `,"tlsDetails":{`...)
		n := len(b)
		b = appendOmitEmpty(b, "tlsVersion", t.TLSVersion)
		b = appendOmitEmpty(b, "cipherSuite", t.CipherSuite)
		b = appendOmitEmpty(b, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		if len(b) > n {
			b = append(b[:n], b[n+1:]...) // the first field's comma
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendUserIdentity(b []byte, u *UserIdentity) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, u.Type)
	b = appendOmitEmpty(b, "principalId", u.PrincipalID)
	b = appendOmitEmpty(b, "arn", u.ARN)
	b = appendOmitEmpty(b, "accountId", u.AccountID)
	b = appendOmitEmpty(b, "accessKeyId", u.AccessKeyID)
	b = appendOmitEmpty(b, "userName", u.UserName)
	if s := u.SessionContext; s != nil {
		b = append(b, `,"sessionContext":{"attributes":{"creationDate":`...)
		b = appendTime(b, s.Attributes.CreationDate)
		b = appendField(b, "mfaAuthenticated", s.Attributes.MFAAuthenticated)
		b = append(b, '}')
		if i := s.SessionIssuer; i != nil {
			b = append(b, `,"sessionIssuer":{"type":`...)
			b = appendString(b, i.Type)
			b = appendField(b, "principalId", i.PrincipalID)
			b = appendField(b, "arn", i.ARN)
			b = appendField(b, "accountId", i.AccountID)
			b = appendField(b, "userName", i.UserName)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendField appends ,"name":value.
func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendOmitEmpty appends ,"name":value unless value is empty (omitempty).
func appendOmitEmpty(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return appendField(b, name, value)
}

// appendTime appends t as Time.MarshalJSON does.
func appendTime(b []byte, t Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"')
}

// appendMap appends m as encoding/json does (null when nil, keys sorted), without HTML
// escaping. A flat map of strings and booleans (a login's) is written here; anything else
// goes through encoding/json.
func appendMap(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var keyArray [16]string
	keys := keyArray[:0]
	for k, v := range m {
		switch v.(type) {
		case string, bool:
			keys = append(keys, k)
			continue
		}
		return appendJSON(b, m)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch v := m[k].(type) {
		case string:
			b = appendString(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		}
	}
	return append(b, '}'), nil
}

// appendJSON appends v as encoding/json does, without HTML escaping.
func appendJSON(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("audit: encode event: %w", err)
	}
	out := buf.Bytes()
	return out[:len(out)-1], nil // Encode's '\n'
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does with HTML escaping
// off: '"' and '\\' escaped, \b \f \n \r \t by name, other control bytes as \u00XX,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029 (for JavaScript).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
