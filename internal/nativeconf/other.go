package nativeconf

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// OtherService is Linux-PAM's fallback service: libpam parses <pam-dir>/other at every
// pam_start, after the service's own file, whatever that file says, and loads every
// module it names. Debian's "other" includes common-auth, -account, -password and
// -session (pam_unix and its libraries, pam_systemd, …), so a server that runs pam_start
// per login in one long-lived process (MariaDB's PAM plugin) loads, parses and unloads
// that whole stack per login.
const OtherService = "other"

// HardenedOther returns the hardened fallback service: every PAM service without its own
// file is denied (and pam_warn logs who asked), the hardening Linux-PAM's documentation
// recommends. It loads two small modules instead of Debian's stack.
//
// It changes every service on the machine that has no file of its own, which is why
// native-setup writes it only when asked (--harden-pam-other).
func HardenedOther() string {
	return `# /etc/pam.d/other: the fallback of every PAM service without a file of its own.
# Written by "iamdb native-setup --harden-pam-other": such services are denied (and
# pam_warn logs who asked) instead of falling back to the common-* stack. libpam also
# parses this file at every pam_start, so a short one makes each database PAM login
# cheaper. Give any service that needs PAM its own file in this directory.
auth     required pam_warn.so
auth     required pam_deny.so
account  required pam_warn.so
account  required pam_deny.so
password required pam_warn.so
password required pam_deny.so
session  required pam_warn.so
session  required pam_deny.so
`
}

// Bounds of PAMModules: the bytes of one configuration file it reads (larger files are
// an error), the nesting of includes (Linux-PAM's own limit on substacks is 16), and the
// modules it returns.
const (
	MaxPAMFileBytes = 64 << 10
	MaxPAMDepth     = 16
	MaxPAMModules   = 256
)

// ErrPAMConfig is the category of PAMModules' errors about the configuration itself (a
// file too large, includes nested too deep, too many modules); errors of read are
// returned wrapped as they are.
var ErrPAMConfig = errors.New("nativeconf: PAM configuration")

// PAMModules returns the modules service's PAM configuration loads — the module path of
// every rule, following "@include FILE" lines and the include and substack controls — in
// the order of first appearance, each once, as written (a base name or a path). read
// returns a configuration file's content by the name the configuration uses (a service
// name, or an absolute path); it is called at most MaxPAMModules times and its content
// must be at most MaxPAMFileBytes.
//
// Lines are read as Linux-PAM reads /etc/pam.d files: '#' starts a comment, a backslash
// before a newline joins two lines, a leading '-' on the type only silences a missing
// module, and a control in brackets may hold white space.
func PAMModules(service string, read func(name string) ([]byte, error)) ([]string, error) {
	p := pamParser{read: read, seen: map[string]bool{}}
	if err := p.file(service, 0); err != nil {
		return nil, err
	}
	return p.mods, nil
}

type pamParser struct {
	read  func(string) ([]byte, error)
	reads int
	mods  []string
	seen  map[string]bool
}

func (p *pamParser) file(name string, depth int) error {
	if depth > MaxPAMDepth {
		return fmt.Errorf("%w: includes nested deeper than %d (at %q)", ErrPAMConfig, MaxPAMDepth, name)
	}
	if p.reads++; p.reads > MaxPAMModules {
		return fmt.Errorf("%w: more than %d files read", ErrPAMConfig, MaxPAMModules)
	}
	b, err := p.read(name)
	if err != nil {
		return err
	}
	if len(b) > MaxPAMFileBytes {
		return fmt.Errorf("%w: %s holds more than %d bytes", ErrPAMConfig, name, MaxPAMFileBytes)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "@include" {
			if len(f) < 2 {
				continue // Linux-PAM ignores it as malformed
			}
			if err := p.file(f[1], depth+1); err != nil {
				return err
			}
			continue
		}
		switch strings.ToLower(strings.TrimPrefix(f[0], "-")) {
		case "auth", "account", "password", "session":
		default:
			continue // not a rule Linux-PAM loads anything for
		}
		rest := f[1:]
		control := ""
		if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
			// A bracketed control runs to the token ending in ']'.
			j := 0
			for j < len(rest) && !strings.HasSuffix(rest[j], "]") {
				j++
			}
			if j == len(rest) {
				continue // unterminated: Linux-PAM refuses the line
			}
			rest = rest[j+1:]
		} else if len(rest) > 0 {
			control = strings.ToLower(rest[0])
			rest = rest[1:]
		}
		if len(rest) == 0 {
			continue
		}
		if control == "include" || control == "substack" {
			if err := p.file(rest[0], depth+1); err != nil {
				return err
			}
			continue
		}
		if p.seen[rest[0]] {
			continue
		}
		if len(p.mods) == MaxPAMModules {
			return fmt.Errorf("%w: more than %d modules", ErrPAMConfig, MaxPAMModules)
		}
		p.seen[rest[0]] = true
		p.mods = append(p.mods, rest[0])
	}
	return nil
}

// minimalModules are the modules a hardened "other" may load at no real cost: they are
// small, link nothing beyond libpam and libc, and do nothing until called.
var minimalModules = map[string]bool{"pam_deny.so": true, "pam_warn.so": true, "pam_permit.so": true}

// ExtraModules returns the modules of mods (from PAMModules) beyond pam_deny.so,
// pam_warn.so and pam_permit.so: what makes a fallback service costly to load per login.
func ExtraModules(mods []string) []string {
	var extra []string
	for _, m := range mods {
		if !minimalModules[path.Base(m)] {
			extra = append(extra, m)
		}
	}
	return extra
}
