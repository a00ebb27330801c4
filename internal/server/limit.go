package server

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamdb/iamdb/internal/gateway"
	"github.com/iamdb/iamdb/internal/loglimit"
)

// Connection limits of the server's HTTP listeners (docs/configuration.md#listener-limits).
// The gateways bound their own (max_client_conns), answering in their protocol; the
// authority, the workload credential endpoints and the ops server are bounded by a
// limitListener, which closes a connection beyond its limit as soon as it is accepted.
const (
	// maxEndpointConns bounds the connections of each workload credential endpoint: its
	// clients are SDKs fetching credentials every few minutes.
	maxEndpointConns = 256
	// maxOpsConns bounds the connections of the ops server: scrapers, probes and, with
	// ops.pprof, a profile or two.
	maxOpsConns = 64
)

// defaultMaxConns is the default of authority.max_conns: the budget of a gateway's
// max_client_conns (gateway.DefaultMaxClientConns: an eighth of RLIMIT_NOFILE, between
// 64 and 4096), so that a flood of idle connections to the authority holds no more of
// the process's file descriptors than one to a gateway.
func defaultMaxConns() int { return gateway.DefaultMaxClientConns() }

// listenerMetrics are the metrics of the limitListeners of a Server.
type listenerMetrics struct {
	open    *prometheus.GaugeVec
	refused *prometheus.CounterVec
}

func newListenerMetrics(reg prometheus.Registerer) *listenerMetrics {
	m := &listenerMetrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "iamdb", Subsystem: "listener", Name: "connections",
			Help: "Open connections of an HTTP listener (authority, imds, container_credentials, ops), bounded by its limit.",
		}, []string{"listener", "address"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "iamdb", Subsystem: "listener", Name: "refused_connections_total",
			Help: "Connections an HTTP listener closed at once because it held its limit of open connections.",
		}, []string{"listener", "address"}),
	}
	reg.MustRegister(m.open, m.refused)
	return m
}

// limitListener is a net.Listener that keeps at most max accepted connections open at
// once: beyond it, Accept closes a new connection at once, before reading anything,
// and waits for the next. A connection counts until it is closed (by the HTTP server,
// whatever the reason, or by whoever hijacked it). It is safe for concurrent use.
type limitListener struct {
	net.Listener
	name    string // "authority", "imds", "container_credentials", "ops": in logs and metrics
	max     int64  // > 0
	log     *slog.Logger
	warns   *loglimit.Limiter
	open    prometheus.Gauge
	refused prometheus.Counter

	n atomic.Int64 // open connections
}

// limit returns ln bounded to max open connections (max <= 0: ln itself, unbounded).
func (m *listenerMetrics) limit(ln net.Listener, name string, max int, log *slog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	addr := ln.Addr().String()
	return &limitListener{
		Listener: ln, name: name, max: int64(max), log: log, warns: loglimit.New(nil),
		open: m.open.WithLabelValues(name, addr), refused: m.refused.WithLabelValues(name, addr),
	}
}

// Accept returns the next connection within the limit; the listener's errors as they are.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.n.Add(1) > l.max {
			l.n.Add(-1)
			// Counted and logged before the close, so that whoever sees the close sees them.
			l.refused.Inc()
			l.warns.Warn(l.log, "connection refused", "listener", l.name, "source", c.RemoteAddr().String(),
				"reason", "too-many-connections", "max_conns", l.max)
			c.Close()
			continue
		}
		l.open.Inc()
		return &limitConn{Conn: c, l: l}, nil
	}
}

// limitConn is a connection a limitListener counts until its first Close.
type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	c.once.Do(func() { // before the close, as for a refusal
		c.l.n.Add(-1)
		c.l.open.Dec()
	})
	return c.Conn.Close()
}
