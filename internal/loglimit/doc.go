// Package loglimit holds back the warn-level log lines a peer can cause at will —
// protocol violations, refused peers, malformed requests, connections beyond a limit —
// so that a flood of them cannot flood the log. A Limiter lets a burst of Burst lines
// through at warn level, then one per Interval; the others go to debug level, and the
// next warn line says how many were held back ("suppressed").
//
// The gateway (internal/gateway) and the native verifier (internal/native) each keep
// one Limiter for all their connections. It is not a limit on the connections
// themselves, nor on any other log line.
package loglimit
