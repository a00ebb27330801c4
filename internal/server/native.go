package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamdb/iamdb/internal/access"
	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/iam"
	"github.com/iamdb/iamdb/internal/native"
)

// NativeConfig is a [[native]] table: a native endpoint, the Unix socket on which the
// PAM module pam_iamdb.so of one database server asks iamdb for login decisions
// (docs/configuration.md, docs/security.md). Relative file names are resolved against
// dir.
type NativeConfig struct {
	// Database is the identifier of a [[databases]] entry (or of a database already in the
	// registry) whose IAM logins the database server hands to PAM. Its engine decides the
	// default allowed_users. Required.
	Database string `toml:"database"`
	// Account of that database; default bootstrap.account_id.
	Account string `toml:"account"`
	// Socket is the Unix socket's path: the module's socket= argument. Required.
	Socket string `toml:"socket"`
	// Port is the port clients dial and sign tokens for: the database server's own port.
	// Default the database's registered port. Tokens are checked against it; the
	// database's registration (IAM authentication on or off, its resource ID) is the
	// registered one, so one registration serves a gateway on the registered port and
	// native logins on the server's port.
	Port int `toml:"port"`
	// SocketMode is the socket file's mode, an octal string. Default "0660".
	SocketMode string `toml:"socket_mode"`
	// SocketGroup is the group (name or numeric gid) the socket file is given, so that
	// the database's OS user can reach it. Default: when serve runs as root, the primary
	// group of the engine's OS user ("postgres" or "mysql") if it exists; otherwise the
	// group the socket is created with.
	SocketGroup string `toml:"socket_group"`
	// AllowedUsers are the OS users (names or numeric uids) whose connections are
	// answered, checked with SO_PEERCRED. Default: root, plus the engine's conventional
	// OS user — "postgres" for postgres and aurora-postgresql, "mysql" for mysql, mariadb
	// and aurora-mysql — when it exists. A name that does not exist is a config error.
	AllowedUsers []string `toml:"allowed_users"`
	// SecureTransport is aws:SecureTransport in the decisions. Default true: the
	// database's own setup admits IAM users only over TLS (pg_hba.conf hostssl lines,
	// REQUIRE SSL), which PAM cannot see. Set it false only if that is not so.
	SecureTransport *bool `toml:"secure_transport"`
}

// nativeEngines are the registry's engines of each engine of native mode.
var nativeEngines = gatewayEngines

// nativeOSUsers are the conventional OS users of each engine's server.
var nativeOSUsers = map[string]string{gateway.EnginePostgres: "postgres", gateway.EngineMySQL: "mysql"}

// validateNative checks the [[native]] tables.
func (c *Config) validateNative() []error {
	var errs []error
	sockets := map[string]bool{}
	for i, n := range c.Native {
		name := fmt.Sprintf("native[%d]", i)
		var missing []string
		if n.Database == "" {
			missing = append(missing, "database")
		}
		if n.Socket == "" {
			missing = append(missing, "socket")
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%s: %s required", name, strings.Join(missing, ", ")))
		}
		if p := c.Path(n.Socket); p != "" {
			if sockets[p] {
				errs = append(errs, fmt.Errorf("%s.socket %s is used twice", name, n.Socket))
			}
			sockets[p] = true
		}
		if n.Port < 0 || n.Port > 65535 {
			errs = append(errs, fmt.Errorf("%s.port %d out of range", name, n.Port))
		}
		if _, err := parseSocketMode(n.SocketMode); err != nil {
			errs = append(errs, fmt.Errorf("%s.socket_mode: %w", name, err))
		}
		if n.SocketGroup != "" {
			if _, err := lookupGroup(n.SocketGroup); err != nil {
				errs = append(errs, fmt.Errorf("%s.socket_group: %w", name, err))
			}
		}
		for _, u := range n.AllowedUsers {
			if _, err := lookupUID(u); err != nil {
				errs = append(errs, fmt.Errorf("%s.allowed_users: %w", name, err))
			}
		}
	}
	return errs
}

// parseSocketMode reads an octal file mode of permission bits only; "" is 0660.
func parseSocketMode(s string) (os.FileMode, error) {
	if s == "" {
		return native.DefaultMode, nil
	}
	m, err := strconv.ParseUint(strings.TrimPrefix(s, "0o"), 8, 32)
	if err != nil || m > 0o777 || m == 0 {
		return 0, fmt.Errorf("%q must be an octal mode such as \"0660\"", s)
	}
	return os.FileMode(m), nil
}

// lookupUID returns the uid of an OS user name or numeric uid.
func lookupUID(name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("unknown user %q", name)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q", name, u.Uid)
	}
	return uint32(n), nil
}

// lookupGroup returns the gid of a group name or numeric gid.
func lookupGroup(name string) (int, error) {
	if n, err := strconv.ParseUint(name, 10, 31); err == nil {
		return int(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("unknown group %q", name)
	}
	return strconv.Atoi(g.Gid)
}

// runningNative is a native endpoint bound to its socket; serve starts it.
type runningNative struct {
	ep     *native.Endpoint
	engine string
	db     iam.Database
	port   int
	done   chan error // nil until serve
}

func (r *runningNative) serve() {
	r.done = make(chan error, 1)
	go func() { r.done <- r.ep.Serve() }()
}

// listenNatives binds the [[native]] endpoints of s.cfg.
func (s *Server) listenNatives() error {
	for i, nc := range s.cfg.Native {
		n, err := s.listenNative(nc)
		if err != nil {
			return fmt.Errorf("serve: native[%d] (%s): %w", i, nc.Database, err)
		}
		s.natives = append(s.natives, n)
	}
	// The authority finds these databases on their native ports too (VerifyDBAuthToken,
	// which iamdb doctor asks).
	ports := map[string][]int{}
	for _, n := range s.natives {
		ports[n.db.ResourceID] = append(ports[n.db.ResourceID], n.port)
	}
	s.svc.SetNativePorts(ports)
	return nil
}

// listenNative binds one native endpoint.
func (s *Server) listenNative(nc NativeConfig) (*runningNative, error) {
	account := s.cfg.accountOr(nc.Account)
	db, found := registeredDatabase(s.svc, account, nc.Database)
	if !found {
		return nil, fmt.Errorf("database %q is not registered in account %s", nc.Database, account)
	}
	engine := ""
	for e, dbEngines := range nativeEngines {
		if slices.Contains(dbEngines, strings.ToLower(db.Engine)) {
			engine = e
		}
	}
	if engine == "" {
		return nil, fmt.Errorf("database %q: native mode does not serve engine %s", nc.Database, db.Engine)
	}
	port := nc.Port
	if port == 0 {
		port = db.Port
	}
	mode, err := parseSocketMode(nc.SocketMode)
	if err != nil {
		return nil, err
	}
	uids, err := allowedUIDs(nc.AllowedUsers, engine)
	if err != nil {
		return nil, err
	}
	group := -1
	if nc.SocketGroup != "" {
		if group, err = lookupGroup(nc.SocketGroup); err != nil {
			return nil, err
		}
	} else if os.Geteuid() == 0 {
		if u, err := user.Lookup(nativeOSUsers[engine]); err == nil {
			group, _ = strconv.Atoi(u.Gid)
		}
	}
	auth, err := access.NewAuthorizer(access.Config{Authority: s.svc, Database: db, Port: port})
	if err != nil {
		return nil, err
	}
	secure := nc.SecureTransport == nil || *nc.SecureTransport
	log := s.log.With("native", engine) // the endpoint adds the database
	ep, err := native.New(native.Config{
		Socket: s.cfg.Path(nc.Socket), Mode: mode, Group: group, AllowedUIDs: uids,
		Engine: engine, SecureTransport: secure, Authorizer: auth, Logger: log, Recorder: s.recorder(),
	})
	if err != nil {
		return nil, err
	}
	if err := ep.Listen(); err != nil {
		return nil, err
	}
	s.log.Info("native endpoint bound", "engine", engine, "database", db.Identifier, "socket", ep.Socket(),
		"port", port, "mode", fmt.Sprintf("%#o", mode), "allowed_uids", uids, "secure_transport", secure)
	return &runningNative{ep: ep, engine: engine, db: db, port: port}, nil
}

// allowedUIDs resolves allowed_users, or the default: root and the engine's OS user.
func allowedUIDs(names []string, engine string) ([]uint32, error) {
	if len(names) == 0 {
		uids := []uint32{0}
		if uid, err := lookupUID(nativeOSUsers[engine]); err == nil && uid != 0 {
			uids = append(uids, uid)
		}
		return uids, nil
	}
	var uids []uint32
	for _, n := range names {
		uid, err := lookupUID(n)
		if err != nil {
			return nil, err
		}
		uids = append(uids, uid)
	}
	return uids, nil
}

// shutdownNatives stops the native endpoints: no new requests, answers in flight finish
// until ctx ends; their sockets are removed. Calling it again does nothing more.
func shutdownNatives(ctx context.Context, ns []*runningNative) error {
	var errs []error
	for _, n := range ns {
		if err := n.ep.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("native %s: %w", n.db.Identifier, err))
		}
	}
	return errors.Join(errs...)
}

// NativeEndpoints returns the native endpoints in the Config's order: Kind "native",
// Addr the socket's path, the Database they decide for and the Port tokens must name.
func (s *Server) NativeEndpoints() []Endpoint {
	var out []Endpoint
	for _, n := range s.natives {
		out = append(out, Endpoint{Kind: "native", Addr: n.ep.Socket(), Database: n.db, Port: n.port})
	}
	return out
}

// nativeShutdownTimeout bounds the wait for native answers in flight at shutdown: each
// is a memory lookup, so this is only reached by a stuck peer.
const nativeShutdownTimeout = 5 * time.Second
