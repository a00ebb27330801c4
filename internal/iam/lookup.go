package iam

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iamdb/iamdb/policy"
	"github.com/iamdb/iamdb/token"
)

var _ token.KeyLookup[*Caller] = (*Service)(nil)

// LookupKey implements token.KeyLookup and serves SigV4 verification: it returns the
// secret of an AKIA… access key, or of an ASIA… key whose sealed session token is
// sessionToken, with the *Caller as Principal. Long-term keys come from the in-memory
// snapshot; session tokens are unsealed without any store read (the role's policies come
// from the snapshot). Errors wrap token.ErrUnknownKey or token.ErrInvalidSessionToken;
// a session of a role that was deleted (or re-created) or whose sessions were revoked
// after it was issued is an invalid session token. An expired session is returned with
// Expiration in the past, for the verifier to refuse. Inactive keys are returned with
// Inactive set. The returned Caller may be shared: do not modify it.
func (s *Service) LookupKey(ctx context.Context, accessKeyID, sessionToken string) (token.Key[*Caller], error) {
	snap := s.snap.Load()
	if strings.HasPrefix(accessKeyID, "ASIA") {
		return s.lookupSession(snap, accessKeyID, sessionToken)
	}
	if e := snap.keys.Get(accessKeyID); e.usable() {
		return e.tokenKey(), nil
	}
	return token.Key[*Caller]{}, fmt.Errorf("%w: %.20q", token.ErrUnknownKey, accessKeyID)
}

func (s *Service) lookupSession(snap *snapshot, akid, tok string) (token.Key[*Caller], error) {
	if tok == "" {
		return token.Key[*Caller]{}, fmt.Errorf("%w: temporary credentials need a session token", token.ErrInvalidSessionToken)
	}
	cache := s.sessCache.Load()
	if v, ok := cache.m.Load(akid); ok {
		if e := v.(*sessionEntry); e.token == tok && e.valid(snap) {
			return e.key, nil
		}
	}
	p, err := s.unsealSession(tok)
	if err != nil {
		return token.Key[*Caller]{}, err
	}
	if p.K != akid {
		return token.Key[*Caller]{}, fmt.Errorf("%w: token belongs to another access key", token.ErrInvalidSessionToken)
	}
	c, err := s.sessionCaller(snap, p)
	if err != nil {
		return token.Key[*Caller]{}, err
	}
	key := token.Key[*Caller]{SecretAccessKey: p.S, Expiration: c.Session.Expiration, Principal: c}
	if cache.n.Load() >= maxCachedSessions {
		// Full: start afresh (whoever swaps first; the others use the new cache).
		s.sessCache.CompareAndSwap(cache, new(sessionCache))
		cache = s.sessCache.Load()
	}
	e := newSessionEntry(snap, tok, key, p)
	if _, loaded := cache.m.Swap(akid, e); !loaded {
		cache.n.Add(1)
	}
	return key, nil
}

// sessionCaller builds the Caller of a session from its payload and the snapshot.
func (s *Service) sessionCaller(snap *snapshot, p *sessionPayload) (*Caller, error) {
	sess := p.session()
	if p.U != "" { // GetSessionToken: the user itself
		pr, err := policy.PrincipalFromARN(p.U)
		if err != nil {
			return nil, fmt.Errorf("%w: unsupported content", token.ErrInvalidSessionToken)
		}
		u := snap.users.Get(entityKey(p.A, lastSegment(p.U)))
		if u == nil || u.id != p.UI || u.arn != p.U || pr.Account != p.A {
			return nil, fmt.Errorf("%w: the user no longer exists", token.ErrInvalidSessionToken)
		}
		c := u.userCaller(p.K)
		c.Session = sess
		return c, nil
	}
	rk := entityKey(p.A, roleNameOf(p.R))
	r := snap.roles.Get(rk)
	if r == nil || r.id != p.RI || r.arn != p.R {
		return nil, fmt.Errorf("%w: the role no longer exists", token.ErrInvalidSessionToken)
	}
	if !r.revokedBefore.IsZero() && sess.IssuedAt.Before(r.revokedBefore) {
		return nil, fmt.Errorf("%w: the role's sessions were revoked", token.ErrInvalidSessionToken)
	}
	tags := r.tags
	if len(p.T) > 0 {
		tags = maps.Clone(r.tags)
		if tags == nil {
			tags = map[string]string{}
		}
		for k, v := range p.T {
			for rk := range tags { // session tags override role tags, keys case-insensitively
				if strings.EqualFold(rk, k) {
					delete(tags, rk)
				}
			}
			tags[k] = v
		}
	}
	sessARN := assumedRoleARN(p.A, r.name, p.N)
	uid := r.id + ":" + p.N
	c := &Caller{
		Account: p.A, ARN: sessARN, UserID: uid, Type: CallerAssumedRole, AccessKeyID: p.K,
		Principal: policy.Principal{ARN: r.arn, SessionARN: sessARN, Account: p.A, Type: policy.PrincipalAssumedRole, UserID: uid},
		Tags:      tags, Session: sess, name: r.name, roleKey: rk, identity: r.identity, boundary: r.boundary,
		tagCtx: makeTagCtx(tags), broken: r.broken, advisor: "role/" + rk,
	}
	if p.P != "" || len(p.PA) > 0 {
		missing := false
		if p.P != "" {
			sp, err := policy.Parse([]byte(p.P), policy.WithKind(policy.KindSession), policy.WithMaxSize(-1), policy.WithName("session policy"))
			if err != nil {
				return nil, fmt.Errorf("%w: unsupported content", token.ErrInvalidSessionToken)
			}
			c.sessionP = append(c.sessionP, sp)
		}
		for _, a := range p.PA {
			if mp := snap.managed.Get(a); mp != nil {
				c.sessionP = append(c.sessionP, mp)
			} else {
				missing = true
			}
		}
		if missing || len(c.sessionP) == 0 {
			// A deleted managed session policy allows nothing; the session stays limited.
			c.sessionP = append(c.sessionP, allowNothing)
		}
	}
	return c, nil
}

// allowNothing is a session policy that allows no action.
var allowNothing = func() *policy.Policy {
	p, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iamdb:none","Resource":"*"}]}`),
		policy.WithKind(policy.KindSession), policy.WithName("deleted session policy"))
	if err != nil {
		panic(err)
	}
	return p
}()

func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

// roleNameOf returns the name of a role from its ARN.
func roleNameOf(roleARN string) string { return lastSegment(roleARN) }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
