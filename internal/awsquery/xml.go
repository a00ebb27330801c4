package awsquery

import (
	"bytes"
	"encoding/xml"
	"time"

	"github.com/iamdb/iamdb/sigv4"
)

// The XML namespaces of the three APIs.
const (
	nsSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
	nsIAM = "https://iam.amazonaws.com/doc/2010-05-08/"
	nsRDS = "http://rds.amazonaws.com/doc/2014-10-31/"
)

// timeFormat is how timestamps appear in responses (ISO 8601, UTC, seconds).
const timeFormat = "2006-01-02T15:04:05Z"

// isoTime formats t for a response; the zero time is "" so that omitempty drops it.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// policyDoc URL-encodes a policy document as IAM returns it inside its XML: every byte but
// RFC 3986's unreserved ones escaped, spaces as %20 (never '+', so that both Go's
// url.QueryUnescape and botocore's unquote restore it).
func policyDoc(doc string) string {
	if doc == "" {
		return ""
	}
	return sigv4.Escape(doc)
}

// list is a list in the Query protocol's XML: <Wrapper><member>…</member>…</Wrapper>. A
// value (not a pointer) is always written, <Wrapper></Wrapper> when empty, as AWS does for
// the lists it always returns; optional lists are pointers with omitempty.
type list[T any] struct {
	Member []T `xml:"member"`
}

func listOf[T any](items []T) list[T] { return list[T]{Member: items} }

// optList returns nil for an empty slice, so that omitempty drops the element.
func optList[T any](items []T) *list[T] {
	if len(items) == 0 {
		return nil
	}
	return &list[T]{Member: items}
}

// responseMetadata closes every response.
type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// writeResponse encodes <ActionResponse xmlns=ns>[<ActionResult>result</ActionResult>]
// <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></ActionResponse>. A nil
// result (the operations that return nothing) writes no Result element, as AWS does.
func writeResponse(buf *bytes.Buffer, ns, action string, result any, requestID string) error {
	e := xml.NewEncoder(buf)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}}
	if err := e.EncodeToken(root); err != nil {
		return err
	}
	if result != nil {
		if err := e.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return err
		}
	}
	if err := e.EncodeElement(responseMetadata{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := e.EncodeToken(root.End()); err != nil {
		return err
	}
	return e.Close()
}

// errorResponse is AWS's Query-protocol error document.
type errorResponse struct {
	XMLName   xml.Name    `xml:"ErrorResponse"`
	Xmlns     string      `xml:"xmlns,attr,omitempty"`
	Error     errorDetail `xml:"Error"`
	RequestID string      `xml:"RequestId"`
}

type errorDetail struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError encodes an error document.
func writeError(buf *bytes.Buffer, ns string, qe *queryError, requestID string) error {
	typ := "Sender"
	if qe.status >= 500 {
		typ = "Receiver"
	}
	return xml.NewEncoder(buf).Encode(errorResponse{
		Xmlns:     ns,
		Error:     errorDetail{Type: typ, Code: qe.code, Message: qe.message},
		RequestID: requestID,
	})
}
