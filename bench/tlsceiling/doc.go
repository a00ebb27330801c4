// Command tlsceiling measures the raw TLS-handshake ceiling of the machine: as many full
// TLS 1.3 handshakes as possible for a while, from -c client goroutines to a Go TLS
// listener on loopback in the same process, with the given server certificate (use the
// gateway's own, so that the key type and chain are the same). Session tickets are off on
// both sides, so every handshake is a full one (key exchange and a certificate signature),
// as libpq does them. The client offers only X25519, as libpq with OpenSSL 3.0 does (-mlkem
// offers Go's default hybrid post-quantum group too, which costs more). Each connection also carries one byte each way, so that the server
// has finished its side before the client counts it.
//
// It is the anchor of bench/pg.sh's new-connections-per-second ratio; it is not a test.
//
//	tlsceiling -cert server.pem -key server-key.pem -ca ca.pem -c 8 -d 10s
package main
