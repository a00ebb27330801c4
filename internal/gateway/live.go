package gateway

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// LiveSession is one client connection that has logged in through the gateway and is
// still open. Its fields come from the login's audit record; none of them is secret.
type LiveSession struct {
	ID          uint64         // unique within the process, increasing: later logins have larger IDs
	Engine      string         // EnginePostgres or EngineMySQL
	Database    string         // the registered database identifier (instance or cluster id)
	ResourceID  string         // its resource id (db-… / cluster-…), if known
	Account     string         // account of the caller; "" for a password login
	DBUser      string         // database user logged in as
	DBName      string         // database name asked for ("" if none)
	Principal   string         // caller ARN (user, assumed-role session, root); "" for a password login
	AccessKeyID string         // key that signed the token; "" for a password login
	Source      netip.AddrPort // client address
	Start       time.Time      // when the login succeeded (Config.Now)
}

// liveSessionIDs numbers the logged-in sessions of every gateway of the process.
var liveSessionIDs atomic.Uint64

// newLiveSession describes the session that the successful login of rec opens at now.
func newLiveSession(rec *AuditRecord, now time.Time) *LiveSession {
	ls := &LiveSession{
		ID: liveSessionIDs.Add(1), Engine: rec.Engine, Database: rec.Database, ResourceID: rec.ResourceID,
		DBUser: rec.User, DBName: rec.DBName, Principal: rec.Principal, AccessKeyID: rec.AccessKeyID,
		Source: rec.Source, Start: now,
	}
	if rec.Caller != nil {
		ls.Account = rec.Caller.Account
	}
	return ls
}

// LiveSessions returns the sessions logged in through the gateway whose client
// connections are still open, oldest (smallest ID) first. A session is listed from the
// moment its login is recorded, before the client hears of it, until its client
// connection has closed and its backend session is released. Safe for concurrent use;
// it does no I/O. Connections still logging in and iamdb doctor connections are not
// sessions.
func (g *Gateway) LiveSessions() []LiveSession {
	g.mu.Lock()
	var out []LiveSession
	for _, cc := range g.conns {
		if cc.live != nil {
			out = append(out, *cc.live)
		}
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b LiveSession) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// authenticated notes that the client of nc logged in, as rec records: it no longer
// counts against Config.MaxUnauthenticatedPerIP, and it is a live session until untrack.
func (g *Gateway) authenticated(nc net.Conn, rec *AuditRecord) {
	ls := newLiveSession(rec, g.cfg.Now())
	g.mu.Lock()
	defer g.mu.Unlock()
	if cc := g.conns[nc]; cc != nil && cc.live == nil {
		cc.live = ls
		g.unauthDone(cc.source)
	}
}
