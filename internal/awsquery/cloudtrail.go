package awsquery

// CloudTrail's LookupEvents over AWS JSON 1.1 (REFERENCE.md §8): the one operation of the
// CloudTrail API the authority serves, so that "aws cloudtrail lookup-events" and boto3's
// paginator read the audit trail. Requests are told apart from Query requests by their
// X-Amz-Target header, before any form parsing; they are authenticated exactly like Query
// requests (authenticate) and authorised by cloudtrail:LookupEvents on "*".

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iamdb/iamdb/internal/audit"
	"github.com/iamdb/iamdb/internal/iam"
)

// CloudTrail's JSON 1.1 protocol.
const (
	ctTargetPrefix    = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
	ctContentType     = "application/x-amz-json-1.1"
	ctLookupEvents    = "LookupEvents"
	ctAction          = "cloudtrail:LookupEvents"
	ctMaxResults      = 50
	ctMaxValueLen     = 2000
	ctMaxNextToken    = 4096 // longer tokens are refused before they reach the Reader
	ctMaxAttributes   = 1
	ctCategoryInsight = "insight"
)

// ctService describes CloudTrail for the request log; it is not in Server.services, so a
// Query request never reaches it.
var ctService = &service{name: "cloudtrail", version: "2013-11-01", fault: "InternalFailure"}

// ctAttrKeys are LookupEvents' AttributeKey values.
var ctAttrKeys = map[string]bool{
	audit.AttrEventID: true, audit.AttrEventName: true, audit.AttrReadOnly: true, audit.AttrUsername: true,
	audit.AttrResourceType: true, audit.AttrResourceName: true, audit.AttrEventSource: true, audit.AttrAccessKeyID: true,
}

// lookupRequest is LookupEvents' input. Fields the model does not have are ignored, as AWS
// ignores them.
type lookupRequest struct {
	LookupAttributes []lookupAttribute `json:"LookupAttributes"`
	StartTime        *epochTime        `json:"StartTime"`
	EndTime          *epochTime        `json:"EndTime"`
	EventCategory    *string           `json:"EventCategory"`
	MaxResults       *int64            `json:"MaxResults"`
	NextToken        *string           `json:"NextToken"`
}

type lookupAttribute struct {
	AttributeKey   *string `json:"AttributeKey"`
	AttributeValue *string `json:"AttributeValue"`
}

// epochTime is a timestamp on the JSON 1.1 wire: epoch seconds as a JSON number, possibly
// with a fraction (botocore sends integers, the Go SDK fractions).
type epochTime struct{ time.Time }

// Bounds of an epochTime: years 1..9999.
const (
	minEpoch = -62135596800
	maxEpoch = 253402300799
)

func (t *epochTime) UnmarshalJSON(b []byte) error {
	if len(b) > 64 {
		return errors.New("timestamp too long")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || b[0] == '"' {
		return fmt.Errorf("timestamp %s is not a number of epoch seconds", clip(string(b)))
	}
	if math.IsNaN(f) || f < minEpoch || f > maxEpoch {
		return fmt.Errorf("timestamp %s out of range", clip(string(b)))
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	return nil
}

// ctError is a JSON 1.1 error: {"__type": code, "message": message} with status.
type ctError struct {
	status  int
	code    string
	message string
}

func (e *ctError) Error() string { return "awsquery: cloudtrail: " + e.code + ": " + e.message }

func ctErr(code, format string, args ...any) *ctError {
	return &ctError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

// jsonCodes renames the Query protocol's authentication errors to the JSON protocol's.
var jsonCodes = map[string]string{
	"MissingAuthenticationToken": "MissingAuthenticationTokenException",
	"InvalidClientTokenId":       "UnrecognizedClientException",
	"SignatureDoesNotMatch":      "InvalidSignatureException",
	"ExpiredToken":               "ExpiredTokenException",
	"IncompleteSignature":        "IncompleteSignatureException",
	"RequestEntityTooLarge":      "RequestEntityTooLargeException",
	iam.CodeAccessDenied:         "AccessDeniedException",
}

// toCTError maps any error of a LookupEvents request to its wire form, once, here.
func toCTError(err error) *ctError {
	var ce *ctError
	if errors.As(err, &ce) {
		return ce
	}
	var qe *queryError
	if errors.As(err, &qe) {
		code := qe.code
		if c, ok := jsonCodes[code]; ok {
			code = c
		}
		return &ctError{qe.status, code, qe.message}
	}
	var ie *iam.Error
	if errors.As(err, &ie) {
		code := ie.Code
		status := domainStatus(ie.Code)
		if c, ok := jsonCodes[code]; ok {
			code = c
		}
		if code == "AccessDeniedException" {
			status = http.StatusBadRequest // AWS's JSON services answer 400 for it
		}
		return &ctError{status, code, ie.Message}
	}
	if errors.Is(err, audit.ErrInvalidNextToken) {
		return ctErr("InvalidNextTokenException", "Invalid NextToken: it must come from an earlier response to the same query")
	}
	return &ctError{http.StatusInternalServerError, "InternalFailure",
		"The request processing has failed because of an unknown error, exception or failure."}
}

// serveCloudTrail handles one JSON 1.1 request (X-Amz-Target set).
func (s *Server) serveCloudTrail(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	st := &reqState{rid: newRequestID(), svc: ctService}
	res, err := s.cloudTrail(r, st, start)
	var body []byte
	if err == nil {
		body, err = json.Marshal(res)
		if err != nil {
			err = fmt.Errorf("awsquery: encode LookupEvents response: %w", err)
		}
	}
	status, code := http.StatusOK, ""
	if err != nil {
		ce := toCTError(err)
		status, code = ce.status, ce.code
		body, _ = json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{ce.code, ce.message})
	}
	h := w.Header()
	h.Set("Content-Type", ctContentType)
	h.Set("X-Amzn-Requestid", st.rid)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	s.logRequest(r, st, status, code, err, start)
}

// cloudTrail reads, authenticates, authorises and runs a JSON 1.1 request.
func (s *Server) cloudTrail(r *http.Request, st *reqState, now time.Time) (*lookupResponse, error) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, ctTargetPrefix)
	if !ok || op != ctLookupEvents {
		return nil, ctErr("UnknownOperationException", "Unknown operation %s", clip(target))
	}
	st.action = ctLookupEvents
	if r.URL.Path != "/" || r.Method != http.MethodPost {
		return nil, ctErr("UnknownOperationException", "The CloudTrail API is served by POST /")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ctContentType {
		return nil, &ctError{http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "Content-Type must be " + ctContentType}
	}
	if r.ContentLength > s.maxBody {
		return nil, errTooLarge(s.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		return nil, ctErr("SerializationException", "The request body could not be read")
	}
	if int64(len(body)) > s.maxBody {
		return nil, errTooLarge(s.maxBody)
	}

	sum := sha256.Sum256(body)
	a, err := authenticate(r.Context(), &s.signer, r, hex.EncodeToString(sum[:]), s.svc.LookupKey, now, s.skew)
	if err != nil {
		return nil, err
	}
	caller, err := st.scopedCaller(a, ctService.name)
	if err != nil {
		return nil, err
	}

	req, err := decodeLookup(body)
	if err != nil {
		return nil, err
	}
	ctx := iam.WithRequestInfo(r.Context(), iam.RequestInfo{SourceIP: sourceIP(r), SecureTransport: r.TLS != nil, Region: a.v.Region})
	if err := s.svc.Authorize(ctx, caller, ctAction, "*", nil); err != nil {
		return nil, err
	}
	q, insight, err := req.query(caller.Account)
	if err != nil {
		return nil, err
	}
	if s.reader == nil {
		return nil, ctErr("UnsupportedOperationException", "The audit trail is not enabled on this authority (see [audit] in its configuration)")
	}
	if insight {
		return &lookupResponse{Events: []lookupEvent{}}, nil // iamdb records no Insights events
	}
	return s.lookupEvents(ctx, q)
}

// decodeLookup decodes a LookupEvents body: one JSON object (an empty body is an empty
// request, as botocore sends "{}"), member types as the model says. Its lengths are bounded
// by the body's (MaxBodyBytes); LookupAttributes is bounded before validation.
func decodeLookup(body []byte) (*lookupRequest, error) {
	var req lookupRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return &req, nil
	}
	if !utf8.Valid(body) {
		return nil, ctErr("SerializationException", "The request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return nil, ctErr("SerializationException", "The request body is not a LookupEvents request: %s", clip(strings.TrimPrefix(err.Error(), "json: ")))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ctErr("SerializationException", "The request body has data after its JSON object")
	}
	return &req, nil
}

// query validates req as REFERENCE.md §8 says and returns the audit.Query of account;
// insight reports that only Insights events were asked for.
func (req *lookupRequest) query(account string) (q audit.Query, insight bool, err error) {
	q.Account = account
	q.Max = ctMaxResults
	if n := len(req.LookupAttributes); n > ctMaxAttributes {
		return q, false, ctErr("InvalidLookupAttributesException", "You can only specify one lookup attribute; %d were given", n)
	}
	for _, at := range req.LookupAttributes {
		if at.AttributeKey == nil || !ctAttrKeys[*at.AttributeKey] {
			k := ""
			if at.AttributeKey != nil {
				k = *at.AttributeKey
			}
			return q, false, ctErr("InvalidLookupAttributesException",
				"Invalid attribute key %s: it must be one of EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId", clip(k))
		}
		if at.AttributeValue == nil {
			return q, false, ctErr("InvalidLookupAttributesException", "The attribute %s has no value", *at.AttributeKey)
		}
		if n := attrValueLen(*at.AttributeValue); n < 1 || n > ctMaxValueLen {
			return q, false, ctErr("InvalidLookupAttributesException",
				"The value of %s must be 1 to %d characters long", *at.AttributeKey, ctMaxValueLen)
		}
		q.Attr, q.Value = *at.AttributeKey, *at.AttributeValue
	}
	if req.StartTime != nil {
		q.Start = req.StartTime.Time
	}
	if req.EndTime != nil {
		q.End = req.EndTime.Time
	}
	if req.StartTime != nil && req.EndTime != nil && q.Start.After(q.End) {
		return q, false, ctErr("InvalidTimeRangeException", "Start time must be equal to or earlier than end time")
	}
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > ctMaxResults {
			return q, false, ctErr("InvalidMaxResultsException", "MaxResults must be from 1 to %d", ctMaxResults)
		}
		q.Max = int(*req.MaxResults)
	}
	if req.NextToken != nil {
		if t := *req.NextToken; t == "" || len(t) > ctMaxNextToken {
			return q, false, ctErr("InvalidNextTokenException", "Invalid NextToken")
		}
		q.Next = *req.NextToken
	}
	if req.EventCategory != nil {
		if *req.EventCategory != ctCategoryInsight {
			return q, false, ctErr("InvalidEventCategoryException", "EventCategory must be insight")
		}
		insight = true
	}
	return q, insight, nil
}

// attrValueLen is an AttributeValue's length as CloudTrail counts it: characters, with
// '_', ' ', ',' and '\n' counting double (REFERENCE.md §8).
func attrValueLen(v string) int {
	n := 0
	for _, c := range v {
		n++
		switch c {
		case '_', ' ', ',', '\n':
			n++
		}
	}
	return n
}

// lookupResponse is LookupEvents' output.
type lookupResponse struct {
	Events    []lookupEvent `json:"Events"`
	NextToken string        `json:"NextToken,omitempty"`
}

type lookupEvent struct {
	EventID         string           `json:"EventId"`
	EventName       string           `json:"EventName"`
	ReadOnly        string           `json:"ReadOnly"`
	AccessKeyID     string           `json:"AccessKeyId,omitempty"`
	EventTime       int64            `json:"EventTime"`
	EventSource     string           `json:"EventSource"`
	Username        string           `json:"Username,omitempty"`
	Resources       []lookupResource `json:"Resources"`
	CloudTrailEvent string           `json:"CloudTrailEvent"`
}

type lookupResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// lookupEvents asks the Reader for one page and encodes it.
func (s *Server) lookupEvents(ctx context.Context, q audit.Query) (*lookupResponse, error) {
	p, err := s.reader.Lookup(ctx, q)
	if err != nil {
		if errors.Is(err, audit.ErrInvalidNextToken) {
			return nil, err
		}
		return nil, fmt.Errorf("awsquery: lookup events: %w", err)
	}
	out := &lookupResponse{Events: make([]lookupEvent, 0, len(p.Events)), NextToken: p.Next}
	for i := range p.Events {
		e := &p.Events[i]
		rec, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("awsquery: encode event %s: %w", e.EventID, err)
		}
		le := lookupEvent{
			EventID: e.EventID, EventName: e.EventName, ReadOnly: strconv.FormatBool(e.ReadOnly),
			AccessKeyID: e.UserIdentity.AccessKeyID, EventTime: e.EventTime.Unix(), EventSource: e.EventSource,
			Username: audit.Username(e), Resources: make([]lookupResource, 0, len(e.Resources)), CloudTrailEvent: string(rec),
		}
		for _, r := range e.Resources {
			le.Resources = append(le.Resources, lookupResource{ResourceType: r.Type, ResourceName: r.ARN})
		}
		out.Events = append(out.Events, le)
	}
	return out, nil
}
