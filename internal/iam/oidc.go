package iam

import (
	"context"
	"net/url"
	"strings"

	"github.com/iamdb/iamdb/arn"
	"github.com/iamdb/iamdb/internal/store"
)

const (
	maxClientIDs   = 100
	maxThumbprints = 5
)

func oidcARN(acct, hostPath string) string {
	return "arn:aws:iam::" + acct + ":oidc-provider/" + hostPath
}

// oidcHostPath returns the provider's URL without "https://" and a trailing slash, the
// form its ARN and its store key use.
func oidcHostPath(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil || len(u) > 255 {
		return "", validation("The URL %q is not valid: it must begin with https:// and have no query or fragment.", u)
	}
	return strings.ToLower(p.Host) + strings.TrimSuffix(p.Path, "/"), nil
}

func noSuchOIDC(a string) *Error {
	return noSuchEntity("OpenIDConnect Provider not found for arn %s", a)
}

// oidcKey returns the store key of a provider ARN in acct.
func oidcKey(acct, a string) (string, error) {
	p, err := arn.Parse(a)
	if err != nil || p.Service != "iam" || !strings.HasPrefix(p.Resource, "oidc-provider/") {
		return "", invalidInput("ARN %s is not valid.", a)
	}
	if p.AccountID != acct {
		return "", noSuchOIDC(a)
	}
	return acct + "/" + strings.TrimPrefix(p.Resource, "oidc-provider/"), nil
}

func (d *oidcDoc) provider(acct, hostPath string) OIDCProvider {
	return OIDCProvider{
		ARN: oidcARN(acct, hostPath), URL: d.URL, ClientIDList: append([]string{}, d.ClientIDs...),
		ThumbprintList: append([]string{}, d.Thumbprints...), CreateDate: d.Created, Tags: d.Tags,
	}
}

// CreateOpenIDConnectProvider registers an OIDC identity provider, for
// AssumeRoleWithWebIdentity (webidentity.go). Thumbprints are optional and not checked, as
// in AWS today.
func (s *Service) CreateOpenIDConnectProvider(ctx context.Context, c *Caller, in CreateOIDCProviderInput) (OIDCProvider, error) {
	if err := needCaller(c); err != nil {
		return OIDCProvider{}, err
	}
	hp, err := oidcHostPath(in.URL)
	if err != nil {
		return OIDCProvider{}, err
	}
	if len(in.ClientIDList) > maxClientIDs {
		return OIDCProvider{}, limitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxClientIDs)
	}
	for _, id := range in.ClientIDList {
		if id == "" || len(id) > 255 {
			return OIDCProvider{}, validation("1 validation error detected: Value '%s' at 'clientIDList' failed to satisfy constraint: Member must have length between 1 and 255", id)
		}
	}
	if len(in.ThumbprintList) > maxThumbprints {
		return OIDCProvider{}, limitExceeded("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: %d", maxThumbprints)
	}
	for _, tp := range in.ThumbprintList {
		if len(tp) != 40 || strings.Trim(strings.ToLower(tp), "0123456789abcdef") != "" {
			return OIDCProvider{}, validation("1 validation error detected: Value '%s' at 'thumbprintList' failed to satisfy constraint: Member must have length 40 and be hexadecimal", tp)
		}
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return OIDCProvider{}, err
	}
	a := oidcARN(c.Account, hp)
	if err := s.authorizeCreate(ctx, c, "iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", a, &Request{RequestTags: tags}); err != nil {
		return OIDCProvider{}, err
	}
	var out OIDCProvider
	err = s.update(ctx, func(tx store.Tx) error {
		key := c.Account + "/" + hp
		if ok, err := getDoc(tx, kindOIDC, key, &oidcDoc{}); err != nil {
			return err
		} else if ok {
			return apiErr(CodeEntityAlreadyExists, "Provider with url %s already exists.", in.URL)
		}
		d := &oidcDoc{URL: in.URL, ClientIDs: in.ClientIDList, Thumbprints: in.ThumbprintList, Created: s.now().UTC(), Tags: tags}
		out = d.provider(c.Account, hp)
		return putDoc(tx, kindOIDC, key, d)
	})
	return out, err
}

// GetOpenIDConnectProvider returns an OIDC provider by ARN.
func (s *Service) GetOpenIDConnectProvider(ctx context.Context, c *Caller, providerARN string) (OIDCProvider, error) {
	var out OIDCProvider
	err := s.oidcOp(ctx, s.st.View, c, "iam:GetOpenIDConnectProvider", providerARN, func(_ store.Tx, key string, d *oidcDoc) error {
		out = d.provider(c.Account, strings.TrimPrefix(key, c.Account+"/"))
		return nil
	})
	return out, err
}

// oidcOp loads the provider at providerARN in a transaction begun by run (a view or an
// update), authorizes action on it, and calls fn with its key and document.
func (s *Service) oidcOp(ctx context.Context, run func(context.Context, func(store.Tx) error) error, c *Caller, action, providerARN string, fn func(tx store.Tx, key string, d *oidcDoc) error) error {
	if err := needCaller(c); err != nil {
		return err
	}
	key, err := oidcKey(c.Account, providerARN)
	if err != nil {
		return err
	}
	return run(ctx, func(tx store.Tx) error {
		var d oidcDoc
		ok, err := getDoc(tx, kindOIDC, key, &d)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, c, action, providerARN, &Request{ResourceTags: d.Tags}); err != nil {
			return err
		}
		if !ok {
			return noSuchOIDC(providerARN)
		}
		return fn(tx, key, &d)
	})
}

// ListOpenIDConnectProviders returns the ARNs of the account's OIDC providers.
func (s *Service) ListOpenIDConnectProviders(ctx context.Context, c *Caller) ([]string, error) {
	if err := needCaller(c); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, c, "iam:ListOpenIDConnectProviders", oidcARN(c.Account, ""), nil); err != nil {
		return nil, err
	}
	out := []string{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		return eachDoc(tx, kindOIDC, accountPrefix(c.Account), func(key string, _ *oidcDoc) error {
			out = append(out, oidcARN(c.Account, strings.TrimPrefix(key, c.Account+"/")))
			return nil
		})
	})
	return out, err
}

// DeleteOpenIDConnectProvider deletes an OIDC provider. Roles that trust it stay, as in AWS.
func (s *Service) DeleteOpenIDConnectProvider(ctx context.Context, c *Caller, providerARN string) error {
	return s.oidcOp(ctx, s.update, c, "iam:DeleteOpenIDConnectProvider", providerARN, func(tx store.Tx, key string, _ *oidcDoc) error {
		return tx.Delete(kindOIDC, key)
	})
}
