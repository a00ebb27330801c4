package console

import (
	"net/http"
	"slices"

	"github.com/iamdb/iamdb/internal/gateway"
)

func init() { pageSets = append(pageSets, registerSessions) }

func registerSessions(c *Console) {
	c.page("GET "+Prefix+"sessions", c.liveSessions)
}

// sessionsData is the live sessions page.
type sessionsData struct {
	NoGateways bool
	Sessions   []gateway.LiveSession
}

// liveSessions shows the gateways' live sessions of the signed-in account, newest first;
// iamdb:ListGatewaySessions authorizes it.
func (c *Console) liveSessions(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.authorize(r, s, "iamdb:ListGatewaySessions", "*"); err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := &sessionsData{NoGateways: c.cfg.LiveSessions == nil}
	if !d.NoGateways {
		d.Sessions = accountSessions(c.cfg.LiveSessions(), s.account)
	}
	c.render(w, r, s, http.StatusOK, "sessions", &view{Title: "Live sessions", Nav: "sessions", Data: d})
}

// accountSessions returns the sessions of account, newest first. Password logins (no
// account) are nobody's.
func accountSessions(all []gateway.LiveSession, account string) []gateway.LiveSession {
	var out []gateway.LiveSession
	for _, ls := range all {
		if ls.Account != "" && ls.Account == account {
			out = append(out, ls)
		}
	}
	slices.SortStableFunc(out, func(a, b gateway.LiveSession) int { return b.Start.Compare(a.Start) })
	return out
}
