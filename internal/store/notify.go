package store

import (
	"context"
	"sync"
)

// Notifier fans revisions out to the channels of Store.Watch, with the coalescing and
// closing rules that Watch documents. Backends embed one and call Notify after each commit.
// The zero value is ready to use; it is safe for concurrent use.
type Notifier struct {
	mu       sync.Mutex
	closed   bool
	watchers map[chan int64]func() bool // channel → stop of its context.AfterFunc
}

// Watch returns a channel that receives every later Notify's revision, coalescing, until ctx
// ends or Close is called, when it is closed. After Close it returns a closed channel.
func (n *Notifier) Watch(ctx context.Context) <-chan int64 {
	ch := make(chan int64, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		close(ch)
		return ch
	}
	if n.watchers == nil {
		n.watchers = make(map[chan int64]func() bool)
	}
	// If ctx is already done, AfterFunc runs the removal at once in its own goroutine,
	// which waits for n.mu.
	n.watchers[ch] = context.AfterFunc(ctx, func() { n.remove(ch) })
	return ch
}

func (n *Notifier) remove(ch chan int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.watchers[ch]; ok {
		delete(n.watchers, ch)
		close(ch)
	}
}

// Notify delivers rev to every watcher, replacing a value it has not read yet. Callers call
// it in commit order (under their write lock), so the last value delivered is the latest.
func (n *Notifier) Notify(rev int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.watchers {
		select {
		case <-ch: // drop the unread, older value
		default:
		}
		select {
		case ch <- rev:
		default: // cannot happen: only Notify sends, under n.mu, into an emptied buffer
		}
	}
}

// Close closes every watcher's channel; later Watch calls return closed channels.
func (n *Notifier) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for ch, stop := range n.watchers {
		stop()
		delete(n.watchers, ch)
		close(ch)
	}
}
