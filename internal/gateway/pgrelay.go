package gateway

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/iamdb/iamdb/internal/pgwire"
	"github.com/iamdb/iamdb/internal/rdsiam"
)

// discardAll is the Query message that resets a session before it returns to the pool.
var discardAll = pgwire.AppendQuery(nil, "DISCARD ALL")

// pgRelay relays one authenticated client and its backend session, message by message,
// tracking what pooling needs: the transaction status of the last ReadyForQuery, the
// ReadyForQuery still owed (one per Query, Sync and FunctionCall), whether extended-
// protocol messages await a Sync, and whether the backend sent FATAL.
//
// Two goroutines: run reads the client and writes the backend (the caller's goroutine);
// backendToClient reads the backend and writes the client. Each takes in at once the
// messages that arrived together (a pgbench -S transaction is one batch each way): one
// lock for their bookkeeping, one copy, and one write once its reader has nothing more
// buffered — the relay's cost is then its system calls (issue 19, docs/benchmarks.md).
// Longer messages are streamed through. When the client leaves with
// the session idle, run sends DISCARD ALL and backendToClient, no longer forwarding,
// stops at its ReadyForQuery, leaving the backend connection at a message boundary.
type pgRelay struct {
	relayEnds                 // resetting: DISCARD ALL sent
	cr           *relayReader // the client's
	cw           *relayWriter // the client's
	be           *pgBackend
	resetTimeout time.Duration
	onReset      func() // called before DISCARD ALL is sent, if not nil
	// app is the client's startup application_name: the reset gives it back to the
	// session when DISCARD ALL would not (the next client of the same application then
	// finds it there and needs no SET: pgEngine.acquireIAM).
	app string

	// guarded by mu
	tx       byte // transaction status of the last ReadyForQuery
	pending  int  // ReadyForQuery owed
	unsynced bool // extended-protocol messages since the last Sync
	beFatal  bool // the backend sent FATAL or PANIC
}

// run relays until the client leaves or either side fails. poolable says whether the
// session may go back to the pool; run reports whether it was reset and is idle.
func (r *pgRelay) run(poolable bool) (reusable bool) {
	beDone := make(chan error, 1)
	go func() { beDone <- r.backendToClient() }()
	cerr := r.clientToBackend()

	r.mu.Lock()
	clean := poolable && (errors.Is(cerr, errTerminate) || isDisconnect(cerr)) &&
		!r.beDead && !r.beFatal && r.pending == 0 && !r.unsynced && r.tx == pgwire.TxIdle
	r.clientGone = true
	reset := discardAll
	if clean {
		r.resetting = true
		r.pending++
		if r.app != r.be.startupApp {
			reset = pgwire.AppendQuery(slices.Clip(discardAll), "SET application_name = "+rdsiam.QuotePostgresLiteral(r.app))
			r.pending++
		}
	}
	r.mu.Unlock()
	clean = sendReset(clean, r.client, r.be.nc, r.be.w, reset, r.resetTimeout, r.onReset)
	err := <-beDone
	r.mu.Lock()
	defer r.mu.Unlock()
	r.be.tx = r.tx
	if clean && err == errResetDone && !r.resetFailed && r.tx == pgwire.TxIdle {
		r.be.nc.SetDeadline(time.Time{})
		return true
	}
	return false
}

// clientToBackend forwards the client's messages until Terminate, EOF or an error. The
// messages the client's buffer holds whole go on together, counted under one lock, in
// one copy; a message longer than that is streamed.
func (r *pgRelay) clientToBackend() error {
	bw := r.be.w
	flush := bw.flush
	for {
		buf, rerr, werr := fill(r.cr, 5, flush)
		if werr != nil {
			return errBackendOut
		}
		if rerr != nil {
			return rerr
		}
		fwd, terminate := 0, false
		r.mu.Lock()
		walked, err := pgwire.Scan(buf, func(typ byte, body []byte) bool {
			if typ == pgwire.TypeTerminate {
				terminate = true
				return false
			}
			r.track(typ)
			fwd += 5 + len(body)
			return true
		})
		r.mu.Unlock()
		if fwd > 0 {
			bw.writer().Write(buf[:fwd])
		}
		cr := r.cr.br
		cr.Discard(walked)
		switch {
		case terminate:
			return errTerminate
		case err != nil:
			return err
		case walked > 0:
			continue
		}

		// A message longer than what is buffered (Scan checked its header).
		if err := flush(); err != nil {
			return errBackendOut
		}
		typ, n, err := pgwire.ReadHeader(cr)
		if err != nil {
			return err
		}
		if typ == pgwire.TypeTerminate {
			return errTerminate
		}
		r.mu.Lock()
		r.track(typ)
		r.mu.Unlock()
		w := bw.writer()
		pgwire.WriteHeader(w, typ, n)
		rerr, werr = relayBody(w, cr, n)
		if rerr != nil {
			return rerr
		}
		if werr != nil {
			return errBackendOut
		}
	}
}

// track follows a client message of type typ: the ReadyForQuery it is owed, and whether
// extended-protocol messages await a Sync. Called with mu held.
func (r *pgRelay) track(typ byte) {
	switch typ {
	case pgwire.TypeQuery, pgwire.TypeFunctionCall:
		r.pending++
	case pgwire.TypeSync:
		r.pending++
		r.unsynced = false
	case pgwire.TypeParse, pgwire.TypeBind, pgwire.TypeExecute, pgwire.TypeDescribe, pgwire.TypeClose, pgwire.TypeFlush:
		r.unsynced = true
	}
}

// inspect follows a backend message of type typ whose body (nil when not read) the
// relay looked into: ReadyForQuery (transaction status, ReadyForQuery owed),
// ErrorResponse (FATAL; a refused reset) and ParameterStatus. done says that it was the
// reset's ReadyForQuery. Called with mu held.
func (r *pgRelay) inspect(typ byte, body []byte) (done bool) {
	switch typ {
	case pgwire.TypeReadyForQuery:
		if tx, ok := pgwire.ParseReadyForQuery(body); ok {
			r.tx = tx
		}
		if r.pending > 0 {
			r.pending--
		}
		return r.resetting && r.pending == 0
	case pgwire.TypeErrorResponse:
		if body != nil && pgwire.IsFatal(body) {
			r.beFatal = true
		}
		if r.resetting {
			r.resetFailed = true
		}
	case pgwire.TypeParameterStatus:
		if name, value, ok := pgwire.ParseParameterStatus(body); ok {
			r.be.params[name] = value
		}
	}
	return false
}

// backendToClient forwards the backend's messages to the client until an error, or,
// once the client is gone, discards them until the reset's ReadyForQuery. As
// clientToBackend, it takes in whole what the backend's buffer holds: one lock, one
// copy and, once the backend has nothing more buffered, one write to the client.
func (r *pgRelay) backendToClient() error {
	cw := r.cw
	flush := cw.flush
	failed := func() {
		r.clientFailed()
		cw.discard()
	}
	var scratch []byte
	for {
		buf, rerr, werr := fill(r.be.r, 5, flush)
		if werr != nil {
			failed()
		}
		if rerr != nil {
			return r.backendLost(cw, rerr)
		}
		done := false
		r.mu.Lock()
		walked, err := pgwire.Scan(buf, func(typ byte, body []byte) bool {
			done = r.inspect(typ, body)
			return !done
		})
		gone := r.clientGone
		r.mu.Unlock()
		if walked > 0 && !gone {
			if _, werr := cw.writer().Write(buf[:walked]); werr != nil {
				failed()
			}
		}
		br := r.be.r.br
		br.Discard(walked)
		switch {
		case err != nil:
			return r.backendLost(cw, err)
		case done:
			return errResetDone
		case walked > 0:
			continue
		}

		// A message longer than what is buffered (Scan checked its header): looked into
		// whole when the relay needs to and it is not too long, else streamed.
		if werr := flush(); werr != nil {
			failed()
		}
		typ, n, err := pgwire.ReadHeader(br)
		if err != nil {
			return r.backendLost(cw, err)
		}
		var body []byte
		if (typ == pgwire.TypeReadyForQuery || typ == pgwire.TypeParameterStatus || typ == pgwire.TypeErrorResponse) && n <= maxInspect {
			if cap(scratch) < n {
				scratch = make([]byte, n)
			}
			body = scratch[:n]
			if _, err := io.ReadFull(br, body); err != nil {
				return r.backendLost(cw, err)
			}
		}
		r.mu.Lock()
		done = r.inspect(typ, body)
		gone = r.clientGone
		r.mu.Unlock()
		switch {
		case gone && body == nil:
			if _, err := br.Discard(n); err != nil {
				return r.backendLost(cw, err)
			}
		case !gone:
			w := cw.writer()
			pgwire.WriteHeader(w, typ, n)
			var werr error
			if body != nil {
				_, werr = w.Write(body)
			} else {
				var rerr error
				if rerr, werr = relayBody(w, br, n); rerr != nil {
					return r.backendLost(cw, rerr)
				}
			}
			if werr != nil {
				failed()
			}
		}
		if done {
			return errResetDone
		}
	}
}

// backendLost ends backendToClient: unless the backend said FATAL itself or the client
// is gone, the client gets a FATAL, and its connection is closed so that run stops.
func (r *pgRelay) backendLost(cw *relayWriter, err error) error {
	r.mu.Lock()
	r.beDead = true
	tell := !r.clientGone && !r.beFatal
	r.clientGone = true
	r.mu.Unlock()
	if tell {
		e := pgwire.Fatal(pgwire.CodeConnectionFailure, "terminating connection because the connection to the database server was lost")
		if b, err := e.AppendTo(nil); err == nil {
			cw.writer().Write(b)
			cw.flush()
		}
	}
	r.client.Close()
	return err
}
