package doctor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// The PAM service files: a pam line of pg_hba.conf is native mode only if
// its service's auth stack cannot succeed without pam_iamdb.so's verdict.

// maxPAMFile bounds the PAM service file doctor reads.
const maxPAMFile = 64 << 10

// pamStack is what doctor makes of a PAM service file.
type pamStack struct {
	// native: the first auth line is pam_iamdb.so, required or requisite, so that no
	// login succeeds without the verifier's allow.
	native bool
	// mentions: an auth line names pam_iamdb.so (the service is meant to be native).
	mentions bool
	// socket is pam_iamdb.so's socket= argument on its first auth line, if any.
	socket string
	// why says why a service that mentions pam_iamdb.so is not native.
	why string
}

// pamLine is one rule of a PAM service file.
type pamLine struct {
	n       int // line number (the first physical line of a continued one)
	typ     string
	control string
	module  string
	args    []string
}

// parsePAMService splits a PAM service file (pam.d(5) syntax) into its rules: comments
// from '#', backslash-newline continuations, a leading '-' of the type dropped, a
// bracketed control ("[success=1 default=ignore]") kept as one field, "@include FILE" as
// type "@include". Lines it cannot read are errors; nothing is guessed.
func parsePAMService(text string) ([]pamLine, error) {
	var out []pamLine
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		n, l := i+1, lines[i]
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = l[:len(l)-1] + " " + lines[i]
		}
		if j := strings.IndexByte(l, '#'); j >= 0 {
			l = l[:j]
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "@include" {
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: @include takes one file", n)
			}
			out = append(out, pamLine{n: n, typ: "@include", module: f[1]})
			continue
		}
		typ := strings.ToLower(strings.TrimPrefix(f[0], "-"))
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: %q has no control", n, f[0])
		}
		rest := strings.TrimLeftFunc(strings.TrimSpace(l)[len(f[0]):], unicode.IsSpace)
		var control string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: a control's '[' without its ']'", n)
			}
			control, rest = rest[:end+1], rest[end+1:]
		} else {
			control, rest = f[1], rest[len(f[1]):]
		}
		f = strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("line %d: %q names no module", n, typ)
		}
		out = append(out, pamLine{n: n, typ: typ, control: strings.ToLower(control), module: f[0], args: f[1:]})
	}
	return out, nil
}

// classifyPAMService decides whether a PAM service file is iamdb's native mode: its first
// auth rule (an @include, include or substack before it counts, for what it brings in
// may succeed alone) must be pam_iamdb.so with control required or requisite. A failure
// of either cannot be undone by later rules, so whatever follows can only refuse more.
func classifyPAMService(text string) (pamStack, error) {
	rules, err := parsePAMService(text)
	if err != nil {
		return pamStack{}, err
	}
	var st pamStack
	var first *pamLine
	for i := range rules {
		r := &rules[i]
		isIAMDB := isIAMDBModule(r.module)
		if r.typ == "auth" && isIAMDB {
			st.mentions = true
		}
		if first == nil && (r.typ == "auth" || r.typ == "@include") {
			first = r
		}
	}
	if !st.mentions {
		return st, nil
	}
	switch {
	case first.typ == "@include":
		st.why = fmt.Sprintf("line %d: @include %s comes before pam_iamdb.so, and its auth rules may let a login in without the verifier", first.n, first.module)
	case !isIAMDBModule(first.module):
		st.why = fmt.Sprintf("line %d: the first auth rule is %s (%s), not pam_iamdb.so: it runs first and may let a login in without the verifier", first.n, first.module, first.control)
	case first.control != "required" && first.control != "requisite":
		st.why = fmt.Sprintf("line %d: pam_iamdb.so is %s, not required or requisite: a refusal of the verifier does not fail the login", first.n, first.control)
	default:
		st.native = true
	}
	if isIAMDBModule(first.module) {
		for _, a := range first.args {
			if s, ok := strings.CutPrefix(a, "socket="); ok {
				st.socket = s
			}
		}
	}
	return st, nil
}

// readPAMService reads the PAM service file of svc in dir (Linux-PAM's file name: the
// service lower-cased), at most maxPAMFile bytes.
func readPAMService(dir, svc string) (string, error) {
	return readPAMFile(filepath.Join(dir, strings.ToLower(svc)))
}

// readPAMFile reads a PAM configuration file, at most maxPAMFile bytes.
func readPAMFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPAMFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxPAMFile {
		return "", fmt.Errorf("%s: longer than %d bytes", f.Name(), maxPAMFile)
	}
	return string(b), nil
}

// checkPAMServices reports on the PAM service of each of services (those pg_hba.conf's pam
// lines name) and returns the native ones. A service that names pam_iamdb.so but is not
// native, or whose file cannot be read, is a warning; a service that never mentions
// pam_iamdb.so is some other PAM service, left to the pg_hba check.
func checkPAMServices(dir string, services []string) (rs []Result, native []string) {
	for _, svc := range services {
		r, isNative := checkPAMService(dir, svc)
		if isNative {
			native = append(native, svc)
		}
		rs = append(rs, r...)
	}
	return rs, native
}

// checkPAMService reports on the PAM service svc in dir: nothing if it is some other
// PAM service.
func checkPAMService(dir, svc string) (rs []Result, native bool) {
	if svc == "" || strings.ContainsRune(svc, '/') || strings.HasPrefix(svc, ".") {
		return []Result{warn("pam_service", fmt.Sprintf("%q is not a PAM service file's name", svc), "name a file of "+dir+" in pamservice=")}, false
	}
	file := filepath.Join(dir, strings.ToLower(svc))
	text, err := readPAMService(dir, svc)
	if errors.Is(err, fs.ErrNotExist) {
		return []Result{warn("pam_service", fmt.Sprintf("%s: %s does not exist here, so PAM uses its \"other\" service", svc, file),
			"run iamdb doctor on the database server (or pass --pam-dir); iamdb native-setup --apply writes the service file")}, false
	}
	if err != nil {
		return []Result{warn("pam_service", fmt.Sprintf("%s: %v", svc, err),
			"iamdb doctor reads the PAM service files as the database server does: run it as root on the database server")}, false
	}
	st, err := classifyPAMService(text)
	switch {
	case err != nil:
		return []Result{warn("pam_service", fmt.Sprintf("%s: %s: %v", svc, file, err), "rewrite the file: iamdb native-setup --apply")}, false
	case st.native:
		detail := fmt.Sprintf("%s: native mode (%s: pam_iamdb.so is the first auth rule, required)", svc, file)
		if st.socket != "" {
			detail += ", verifier socket " + st.socket
		}
		return []Result{ok("pam_service", detail)}, true
	case st.mentions:
		return []Result{warn("pam_service", fmt.Sprintf("%s: not native mode: %s %s", svc, file, st.why),
			"make \"auth required pam_iamdb.so socket=…\" the service's first auth rule, with nothing before it: iamdb native-setup --apply writes such a file")}, false
	}
	return nil, false
}

// isIAMDBModule reports whether a rule's module names pam_iamdb.so: the bare name libpam
// looks up in its module directory, or a path ending in it. Not path.Base, which strips a
// trailing slash: "pam_iamdb.so/" is a directory to dlopen, a module that fails to load.
func isIAMDBModule(module string) bool {
	return module == "pam_iamdb.so" || strings.HasSuffix(module, "/pam_iamdb.so")
}
