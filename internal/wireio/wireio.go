// Package wireio reads the messages of the wire protocols (internal/pgwire,
// internal/mysqlwire) without trusting the lengths their peers announce: a message's buffer
// grows as its bytes arrive, so that a peer that announces a long message and sends
// nothing holds little memory (the pre-login budget per connection is 16 KiB:
// DESIGN.md), and the arrays left behind are cleared, since a message may hold a password
// or a token.
package wireio

import (
	"bufio"
	"io"
)

// Chunk is the most ReadAppend allocates ahead of the bytes that arrived.
const Chunk = 4 << 10

// ReadAppend reads n bytes from r and appends them to b. Up to Chunk bytes (or as many as
// r, a *bufio.Reader, holds already) are read into one allocation of the exact size;
// beyond, b grows as the bytes arrive, by at most Chunk or what arrived so far. On an
// error it returns b with the bytes that arrived.
func ReadAppend(r io.Reader, b []byte, n int) ([]byte, error) {
	br, _ := r.(*bufio.Reader)
	for n > 0 {
		k := n
		if k > Chunk {
			room := max(Chunk, len(b))
			if br != nil {
				room = max(room, br.Buffered())
			}
			k = min(n, room)
		}
		b = grow(b, k)
		if _, err := io.ReadFull(r, b[len(b)-k:]); err != nil {
			return b, err
		}
		n -= k
	}
	return b, nil
}

// grow extends b by n bytes, reallocating to exactly that length if needed; the old array
// is cleared.
func grow(b []byte, n int) []byte {
	l := len(b)
	if cap(b)-l < n {
		nb := make([]byte, l, l+n)
		copy(nb, b)
		clear(b)
		b = nb
	}
	return b[:l+n]
}
