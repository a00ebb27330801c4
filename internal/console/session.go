package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	sessionCookie = "iamdb-console"
	signinCookie  = "iamdb-console-signin" // the sign-in form's CSRF token (double submit)
	cookiePath    = "/console/"
)

// session is one signed-in person.
type session struct {
	id       string
	csrf     string
	account  string
	user     string
	userARN  string
	mfa      bool
	creds    aws.Credentials
	expires  time.Time // absolute: the credentials' expiry
	clients  *clients
	mu       sync.Mutex
	lastSeen time.Time
	flash    string // a message for the next page, shown once
}

// takeFlash returns the session's one-time message and clears it.
func (s *session) takeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

func (s *session) setFlash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

// sessions holds the signed-in sessions in memory, at most max of them and maxUserSessions
// of one user: a new one beyond either ends the one idle longest (the user's own first).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	max int
}

func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ss *sessions) add(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	// A user at its cap loses its own session idle longest; otherwise, at the global cap,
	// the session idle longest of anyone. One user signing in again and again cannot push
	// other people out.
	var own []*session
	for _, o := range ss.m {
		if o.account == s.account && o.user == s.user {
			own = append(own, o)
		}
	}
	if len(own) >= maxUserSessions {
		delete(ss.m, idleLongest(own).id)
	} else if len(ss.m) >= ss.max {
		all := make([]*session, 0, len(ss.m))
		for _, o := range ss.m {
			all = append(all, o)
		}
		delete(ss.m, idleLongest(all).id)
	}
	ss.m[s.id] = s
}

// maxUserSessions is how many sessions one user may hold at once.
const maxUserSessions = 20

// idleLongest returns the session of ss seen longest ago.
func idleLongest(ss []*session) *session {
	var oldest *session
	var at time.Time
	for _, o := range ss {
		o.mu.Lock()
		seen := o.lastSeen
		o.mu.Unlock()
		if oldest == nil || seen.Before(at) {
			oldest, at = o, seen
		}
	}
	return oldest
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// get returns the live session with the cookie's id, or nil; an expired or idle one is
// removed. A found session's lastSeen becomes now.
func (ss *sessions) get(id string, now time.Time, idle time.Duration) *session {
	if id == "" {
		return nil
	}
	ss.mu.Lock()
	s := ss.m[id]
	ss.mu.Unlock()
	if s == nil || subtle.ConstantTimeCompare([]byte(s.id), []byte(id)) != 1 {
		return nil
	}
	s.mu.Lock()
	dead := !now.Before(s.expires) || now.Sub(s.lastSeen) >= idle
	if !dead {
		s.lastSeen = now
	}
	s.mu.Unlock()
	if dead {
		ss.remove(id)
		return nil
	}
	return s
}

// sweep removes sessions that have expired or gone idle.
func (ss *sessions) sweep(now time.Time, idle time.Duration) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.m {
		s.mu.Lock()
		dead := !now.Before(s.expires) || now.Sub(s.lastSeen) >= idle
		s.mu.Unlock()
		if dead {
			delete(ss.m, id)
		}
	}
}

func (ss *sessions) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, Path /console/, Secure when
// the browser came over TLS. maxAge 0 means a browser-session cookie, -1 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil || len(c.Value) > 128 {
		return ""
	}
	return c.Value
}

// sameToken compares two CSRF tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
