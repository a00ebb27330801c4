package export

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Result is the verdict on one digest or log file, in validate-logs' words.
type Result struct {
	// Object is the file's path relative to the export directory, with forward slashes.
	Object string
	// Status is "valid" or "INVALID: <reason>" (not found, has been moved from its
	// original location, invalid format, signature verification failed, public key not
	// found for fingerprint …, hash value doesn't match).
	Status string
	// Details say what happened to the events: which were edited, removed or reordered,
	// where a missing file is.
	Details []string
}

// Valid reports whether the file is valid.
func (r Result) Valid() bool { return r.Status == "valid" }

// Report is the result of VerifyDir.
type Report struct {
	// From and To are the requested range (zero: unbounded).
	From, To time.Time
	// Oldest and Newest are digestStartTime of the oldest and digestEndTime of the newest
	// digest checked (zero if none).
	Oldest, Newest time.Time
	// Digests and Logs are the files checked, newest digest first.
	Digests, Logs []Result
	// Ends are the digestEndTime of each chain's newest valid digest, by
	// "account/region". Digests removed from a chain's end leave no gap to detect: a
	// chain that ends long before To (or now) is a warning sign.
	Ends map[string]time.Time
}

// Valid reports whether every file checked is valid.
func (r *Report) Valid() bool {
	for _, l := range [][]Result{r.Digests, r.Logs} {
		for _, x := range l {
			if !x.Valid() {
				return false
			}
		}
	}
	return true
}

var digestNameRE = regexp.MustCompile(`_([0-9]{8}T[0-9]{6}Z)\.json\.gz$`)

type candidate struct {
	object string
	end    time.Time
}

// expectation is what the newer digest says about its predecessor.
type expectation struct {
	hash, signature, by string
}

// VerifyDir checks the export under dir between from and to (zero: unbounded) as
// "aws cloudtrail validate-logs" does: for every account and region it starts at the
// newest digest ending at or before to (plus an hour), walks the previous* chain back
// until a digest starts before from, and checks each digest's location (digestS3Object),
// its signature with keys[digestPublicKeyFingerprint], that it is the digest its
// successor names (previousDigestHashValue, previousDigestSignature), and the hash of
// every log file it lists. A digest that is missing or invalid breaks the chain: the walk
// goes on with the next older digest file found. Only log files listed in valid digests
// are checked.
func VerifyDir(dir string, keys Keys, from, to time.Time) Report {
	rep := Report{From: from, To: to, Ends: map[string]time.Time{}}
	chains, _ := filepath.Glob(filepath.Join(dir, "AWSLogs", "*", "CloudTrail-Digest", "*"))
	slices.Sort(chains)
	names := map[string][]string{} // base name → objects, to find moved files
	_ = filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if rel, err := filepath.Rel(dir, p); err == nil {
				names[e.Name()] = append(names[e.Name()], filepath.ToSlash(rel))
			}
		}
		return nil
	})
	var entries []LogEntry
	for _, c := range chains {
		entries = append(entries, verifyChain(dir, c, keys, from, to, names, &rep)...)
	}
	hashes := map[string]string{}
	for _, l := range entries {
		hashes[l.HashValue] = l.S3Object
	}
	for _, l := range entries {
		rep.Logs = append(rep.Logs, verifyLog(dir, l, hashes, names))
	}
	return rep
}

func verifyChain(dir, chainDir string, keys Keys, from, to time.Time, names map[string][]string, rep *Report) []LogEntry {
	// With an end time, the chain is checked from the first digest after the range, if
	// there is one, not from the last in it: a digest removed from the end of the range
	// (with its log files) is named by that successor.
	var cands []candidate
	var successor *candidate
	_ = filepath.WalkDir(chainDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		m := digestNameRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil
		}
		end, err := time.Parse("20060102T150405Z", m[1])
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		c := candidate{object: filepath.ToSlash(rel), end: end}
		if !to.IsZero() && end.After(to.Add(time.Hour)) {
			if successor == nil || c.end.Before(successor.end) || c.end.Equal(successor.end) && c.object < successor.object {
				successor = &c
			}
			return nil
		}
		cands = append(cands, c)
		return nil
	})
	if successor != nil {
		cands = append(cands, *successor)
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := b.end.Compare(a.end); c != 0 {
			return c
		}
		return strings.Compare(b.object, a.object)
	})
	visited := map[string]bool{}
	next := func(before time.Time) string {
		for _, c := range cands {
			if !visited[c.object] && !c.end.After(before) {
				return c.object
			}
		}
		return ""
	}
	var entries []LogEntry
	var expect *expectation
	key := ""
	if len(cands) > 0 {
		key = cands[0].object
	}
	last := time.Time{}
	for key != "" {
		visited[key] = true
		res, d := verifyDigest(dir, key, keys, expect)
		rep.Digests = append(rep.Digests, res)
		if t, ok := nameTime(key); ok {
			last = t
		}
		if d == nil {
			key, expect = next(last), nil
			continue
		}
		start, _ := parseTime(d.DigestStartTime)
		end, _ := parseTime(d.DigestEndTime)
		if rep.Newest.IsZero() || end.After(rep.Newest) {
			rep.Newest = end
		}
		chain := d.AWSAccountID + "/" + filepath.Base(chainDir)
		if end.After(rep.Ends[chain]) {
			rep.Ends[chain] = end
		}
		if rep.Oldest.IsZero() || start.Before(rep.Oldest) {
			rep.Oldest = start
		}
		for _, l := range d.LogFiles {
			lo, _ := parseTime(l.OldestEventTime)
			hi, _ := parseTime(l.NewestEventTime)
			if (from.IsZero() || !hi.Before(from)) && (to.IsZero() || !lo.After(to)) {
				entries = append(entries, l)
			}
		}
		if !from.IsZero() && start.Before(from) {
			break
		}
		if d.PreviousDigestS3Object == nil {
			key, expect = next(last), nil
			continue
		}
		key = *d.PreviousDigestS3Object
		expect = &expectation{hash: *d.PreviousDigestHashValue, signature: *d.PreviousDigestSignature, by: res.Object}
		if visited[key] {
			rep.Digests = append(rep.Digests, Result{Object: key, Status: "INVALID: invalid format",
				Details: []string{"the chain loops back to it from " + res.Object}})
			key, expect = next(last), nil
		}
	}
	return entries
}

func nameTime(object string) (time.Time, bool) {
	m := digestNameRE.FindStringSubmatch(object)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", m[1])
	return t, err == nil
}

// verifyDigest checks the digest at object; d is nil unless it is valid.
func verifyDigest(dir, object string, keys Keys, expect *expectation) (Result, *Digest) {
	res := Result{Object: object}
	fail := func(status string, details ...string) (Result, *Digest) {
		res.Status = "INVALID: " + status
		res.Details = append(res.Details, details...)
		if expect != nil {
			res.Details = append(res.Details, "named as the previous digest by "+expect.by)
		}
		return res, nil
	}
	file := filepath.Join(dir, filepath.FromSlash(object))
	gz, err := readLimited(file, MaxDigestSize)
	if errors.Is(err, os.ErrNotExist) {
		return fail("not found", "the log files it listed cannot be checked")
	}
	if err != nil {
		return fail("invalid format", err.Error())
	}
	raw, err := gunzip(gz, MaxDigestSize)
	if err != nil {
		return fail("invalid format", err.Error())
	}
	d, err := ParseDigest(raw)
	if err != nil {
		return fail("invalid format", err.Error())
	}
	if d.DigestS3Object != object {
		return fail("has been moved from its original location", "its original location is "+d.DigestS3Object)
	}
	sb, err := readLimited(file+".sig", maxSigSize)
	if err != nil {
		return fail("signature verification failed", "no signature: "+err.Error())
	}
	var sig sigFile
	if err := json.Unmarshal(sb, &sig); err != nil || sig.SignatureAlgorithm != SignatureAlgorithm || !isHex(sig.Signature) {
		return fail("signature verification failed", "malformed "+path.Base(object)+".sig")
	}
	pub := keys[d.DigestPublicKeyFingerprint]
	if pub == nil {
		return fail("public key not found for fingerprint " + d.DigestPublicKeyFingerprint)
	}
	if err := verifySignature(pub, d, raw, sig.Signature); err != nil {
		return fail("signature verification failed")
	}
	if expect != nil {
		sum := sha256.Sum256(raw)
		if hex.EncodeToString(sum[:]) != expect.hash || sig.Signature != expect.signature {
			return fail("hash value doesn't match", "not the digest that "+expect.by+" names as its previous one")
		}
	}
	res.Status = "valid"
	return res, d
}

// verifyLog checks one log file listed in a valid digest.
func verifyLog(dir string, l LogEntry, hashes map[string]string, names map[string][]string) Result {
	res := Result{Object: l.S3Object}
	n := len(l.EventHashValues)
	gz, err := readLimited(filepath.Join(dir, filepath.FromSlash(l.S3Object)), MaxLogSize)
	if errors.Is(err, os.ErrNotExist) {
		res.Status = "INVALID: not found"
		res.Details = append(res.Details, fmt.Sprintf("removed: %d events from %s to %s", n, l.OldestEventTime, l.NewestEventTime))
		for _, o := range names[path.Base(l.S3Object)] {
			res.Details = append(res.Details, "moved: a file of the same name is at "+o)
		}
		return res
	}
	if err != nil {
		res.Status = "INVALID: invalid format"
		res.Details = append(res.Details, err.Error())
		return res
	}
	raw, err := gunzip(gz, MaxLogSize)
	if err != nil {
		res.Status = "INVALID: invalid format"
		res.Details = append(res.Details, err.Error())
		return res
	}
	sum := sha256.Sum256(raw)
	h := hex.EncodeToString(sum[:])
	if h == l.HashValue {
		res.Status = "valid"
		return res
	}
	res.Status = "INVALID: hash value doesn't match"
	if other, ok := hashes[h]; ok {
		res.Details = append(res.Details, "swapped: it holds the content of "+other)
		return res
	}
	res.Details = append(res.Details, eventChanges(raw, l.EventHashValues)...)
	return res
}

// eventChanges compares the records of a modified log file with the event hashes its
// digest lists.
func eventChanges(raw []byte, want []string) []string {
	var f struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &f); err != nil {
		return []string{"its content is not a log file: " + err.Error()}
	}
	if len(want) == 0 {
		return []string{fmt.Sprintf("the digest lists no event hashes; the file holds %d events", len(f.Records))}
	}
	got := make([]string, len(f.Records))
	for i, r := range f.Records {
		s := sha256.Sum256(r)
		got[i] = hex.EncodeToString(s[:])
	}
	a, b := slices.Clone(want), slices.Clone(got)
	slices.Sort(a)
	slices.Sort(b)
	if slices.Equal(a, b) {
		return []string{fmt.Sprintf("reordered: the same %d events in another order", len(want))}
	}
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	var out []string
	var extra []int
	for i, g := range got {
		if count[g] > 0 {
			count[g]--
		} else {
			extra = append(extra, i)
		}
	}
	var missing []int
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for i, w := range want {
		if seen[w] > 0 {
			seen[w]--
		} else {
			missing = append(missing, i)
		}
	}
	describe := func(i int) string {
		var e struct {
			EventID   string `json:"eventID"`
			EventTime string `json:"eventTime"`
			EventName string `json:"eventName"`
		}
		_ = json.Unmarshal(f.Records[i], &e)
		return fmt.Sprintf("record %d (eventID %q, eventTime %q, eventName %q)", i+1, e.EventID, e.EventTime, e.EventName)
	}
	for len(missing) > 0 && len(extra) > 0 {
		out = append(out, fmt.Sprintf("edited: event %d of %d, now %s", missing[0]+1, len(want), describe(extra[0])))
		missing, extra = missing[1:], extra[1:]
	}
	for _, i := range missing {
		out = append(out, fmt.Sprintf("removed: event %d of %d", i+1, len(want)))
	}
	for _, i := range extra {
		out = append(out, "added: "+describe(i))
	}
	return out
}
