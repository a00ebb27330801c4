package gateway

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iamdb/iamdb/internal/access"
)

// Outcomes of a connection (label "outcome").
const (
	outcomeOK      = access.OutcomeOK      // authenticated and authorized; a session started
	outcomeRefused = access.OutcomeRefused // the client was refused: bad token, denied, bad password, no TLS
	outcomeError   = access.OutcomeError   // something failed that is not the client's doing, or a protocol error
)

// metrics are the gateway's Prometheus collectors. They are engine-neutral: each engine
// labels its series with engine="postgres" (or "mysql").
type metrics struct {
	connections  *prometheus.CounterVec   // engine, outcome, reason
	authDuration *prometheus.HistogramVec // engine, outcome
	active       *prometheus.GaugeVec     // engine
	clients      *prometheus.GaugeVec     // engine
	pool         *prometheus.GaugeVec     // engine, state
	dials        *prometheus.CounterVec   // engine, outcome
	checks       *prometheus.CounterVec   // engine, check, outcome
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "connections_total",
			Help: "Client connections by outcome (ok, refused, error) and reason.",
		}, []string{"engine", "outcome", "reason"}),
		authDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "auth_duration_seconds",
			Help:    "Time from the client's startup message to ReadyForQuery or refusal.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"engine", "outcome"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "sessions_active",
			Help: "Client sessions past authentication.",
		}, []string{"engine"}),
		clients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "client_connections",
			Help: "Open client connections, logged in or not (bounded by MaxClientConns).",
		}, []string{"engine"}),
		pool: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "pool_sessions",
			Help: "Pooled backend sessions by state (idle, busy).",
		}, []string{"engine", "state"}),
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "backend_dials_total",
			Help: "New backend connections by outcome (ok, error).",
		}, []string{"engine", "outcome"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "iamdb", Subsystem: "gateway", Name: "pool_checks_total",
			Help: "Checks of pooled backend sessions before reuse, by check (peek: a look at the socket; query: a round trip) and outcome (ok, stale).",
		}, []string{"engine", "check", "outcome"}),
	}
	if reg != nil {
		m.connections = register(reg, m.connections)
		m.authDuration = register(reg, m.authDuration)
		m.active = register(reg, m.active)
		m.clients = register(reg, m.clients)
		m.pool = register(reg, m.pool)
		m.dials = register(reg, m.dials)
		m.checks = register(reg, m.checks)
	}
	return m
}

// register registers c, or returns the collector already registered under its name (two
// gateways in one process share series, told apart by engine).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// Checks of a pooled session (label "check" of pool_checks_total).
const (
	checkPeek  = "peek"  // a look at the idle socket, no round trip
	checkQuery = "query" // a round trip to the backend
)

// observeCheck counts a pooled session's check of kind check: stale when err is not nil.
func (m *metrics) observeCheck(engine, check string, err error) {
	outcome := outcomeOK
	if err != nil {
		outcome = "stale"
	}
	m.checks.WithLabelValues(engine, check, outcome).Inc()
}
