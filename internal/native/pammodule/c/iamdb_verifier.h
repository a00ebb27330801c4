/*
 * iamdb_verifier.h: the client side of iamdb's native verifier protocol (internal/native's
 * package doc: one request "IDB1" user host token, one response "IDB1" verdict reason, one
 * connection), shared by the PAM module (pam_iamdb.c) and the MariaDB authentication plugin
 * (auth_iamdb.c). Everything here is static: each of them compiles its own copy.
 *
 * ask_verifier is the whole exchange: it builds the request, sends it over a Unix stream
 * connection (a new one, or one the caller keeps: struct verifier_pool) and reads the
 * response, all within one deadline (poll on a
 * non-blocking socket), and answers EXCHANGE_ALLOW only for a complete, well-formed
 * response whose verdict is allow. The token goes to the socket and nowhere else; the
 * copy of the request is wiped before it is freed. No mutable static state here (a pool
 * is its owner's): both hosts call it on many threads at once.
 */
#ifndef IAMDB_VERIFIER_H
#define IAMDB_VERIFIER_H

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IAMDB_EXPORT __attribute__((visibility("default")))

/* Protocol limits (internal/native/protocol.go). */
#define PROTO_MAGIC "IDB1"
#define PROTO_MAGIC_LEN 4
#define MAX_USER_LEN 256
#define MAX_HOST_LEN 255
#define MAX_TOKEN_LEN 16384
#define RESP_HEADER_LEN 6 /* magic, verdict, reasonLen */
#define RESP_MAX_LEN (RESP_HEADER_LEN + 255)

#define DEFAULT_TIMEOUT_MS 2000
#define MIN_TIMEOUT_MS 50
#define MAX_TIMEOUT_MS 30000

/* Backoff between connect attempts while the verifier's listen queue is full. */
#define CONNECT_RETRY_MS 10

/* The longest socket path a sockaddr_un holds (with its NUL). */
#define MAX_SOCKET_PATH_LEN (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Outcome of one exchange with the verifier. */
enum exchange_result {
	EXCHANGE_OK,          /* a step succeeded (never the final result) */
	EXCHANGE_ALLOW,
	EXCHANGE_DENY,        /* a well-formed response whose verdict is not allow */
	EXCHANGE_MALFORMED,   /* bad magic, truncated, peer closed or reset */
	EXCHANGE_UNREACHABLE, /* cannot connect */
	EXCHANGE_TIMEOUT,     /* the deadline passed */
	EXCHANGE_NOMEM,       /* the request could not be allocated */
};

/*
 * sanitize copies at most n bytes of s into dst (size dstsz >= 1) for a log line: printable
 * ASCII stays, anything else becomes '?'. The text comes from a database client (user) or the
 * verifier (reason) and must not forge log lines.
 */
static void sanitize(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t i = 0;
	for (; i < n && i + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

static int64_t now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* remaining_ms is the time left until deadline (ms since CLOCK_MONOTONIC's epoch), or -1 when it has passed. */
static int remaining_ms(int64_t deadline)
{
	int64_t now = now_ms();
	if (now < 0 || now >= deadline)
		return -1;
	int64_t left = deadline - now;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * wait_fd polls fd for events until the deadline. It returns 1 when fd is ready (or in error,
 * which the following call reports), 0 when the deadline passed, -1 on a poll error.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int left = remaining_ms(deadline);
		if (left < 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left);
		if (r > 0)
			return 1;
		if (r == 0)
			continue; /* re-check the clock: poll may wake a little early */
		if (errno != EINTR)
			return -1;
	}
}

/* sleep_until_retry waits CONNECT_RETRY_MS or until the deadline, whichever is sooner. */
static void sleep_until_retry(int64_t deadline)
{
	int left = remaining_ms(deadline);
	if (left <= 0)
		return;
	(void)poll(NULL, 0, left < CONNECT_RETRY_MS ? left : CONNECT_RETRY_MS);
}

static enum exchange_result connect_verifier(int fd, const char *path, int64_t deadline, int *err)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path)); /* length checked in parse_options */

	for (;;) {
		if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0)
			return EXCHANGE_OK;
		*err = errno;
		if (errno == EAGAIN) {
			/* A Unix socket's listen queue is full: nothing is in progress, try again. */
			if (remaining_ms(deadline) < 0)
				return EXCHANGE_TIMEOUT;
			sleep_until_retry(deadline);
			continue;
		}
		if (errno != EINPROGRESS && errno != EINTR)
			return EXCHANGE_UNREACHABLE;
		/* The connection completes asynchronously. */
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			return EXCHANGE_TIMEOUT;
		if (r < 0) {
			*err = errno;
			return EXCHANGE_UNREACHABLE;
		}
		int soerr = 0;
		socklen_t len = sizeof soerr;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
			*err = errno;
			return EXCHANGE_UNREACHABLE;
		}
		if (soerr != 0) {
			*err = soerr;
			return EXCHANGE_UNREACHABLE;
		}
		return EXCHANGE_OK;
	}
}

static enum exchange_result send_all(int fd, const unsigned char *buf, size_t len, int64_t deadline, int *err)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r == 0)
				return EXCHANGE_TIMEOUT;
			if (r < 0) {
				*err = errno;
				return EXCHANGE_MALFORMED;
			}
			continue;
		}
		*err = n < 0 ? errno : EPIPE;
		return EXCHANGE_MALFORMED; /* the verifier closed or reset the connection */
	}
	return EXCHANGE_OK;
}

/*
 * recv_response reads one response into resp (RESP_MAX_LEN bytes) and sets *resp_len. It
 * reads the header, then exactly reasonLen more bytes, never past the response.
 */
static enum exchange_result recv_response(int fd, unsigned char *resp, size_t *resp_len, int64_t deadline, int *err)
{
	size_t got = 0, want = RESP_HEADER_LEN;
	while (got < want) {
		ssize_t n = recv(fd, resp + got, want - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			if (got == RESP_HEADER_LEN)
				want = RESP_HEADER_LEN + (size_t)resp[5];
			continue;
		}
		if (n == 0) {
			*err = 0;
			*resp_len = got;
			return EXCHANGE_MALFORMED; /* closed before a complete response */
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_fd(fd, POLLIN, deadline);
			if (r == 0)
				return EXCHANGE_TIMEOUT;
			if (r < 0) {
				*err = errno;
				return EXCHANGE_MALFORMED;
			}
			continue;
		}
		*err = errno;
		*resp_len = got;
		return EXCHANGE_MALFORMED;
	}
	*resp_len = got;
	return EXCHANGE_OK;
}

/*
 * verifier_pool keeps connections to the verifier for further requests (the MariaDB plugin,
 * which lives as long as the server; the PAM module opens one per request and passes NULL).
 * take returns an idle connection or -1; give takes back a connection that answered, to
 * keep or close.
 */
struct verifier_pool {
	int (*take)(void);
	void (*give)(int fd);
};

/* open_verifier connects a new socket to the verifier at path before the deadline. */
static enum exchange_result open_verifier(const char *path, int64_t deadline, int *fd, int *err)
{
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0) {
		*err = errno;
		return EXCHANGE_UNREACHABLE;
	}
	enum exchange_result r = connect_verifier(*fd, path, deadline, err);
	if (r != EXCHANGE_OK) {
		(void)close(*fd);
		*fd = -1;
	}
	return r;
}

/*
 * exchange sends req to the verifier at path and reads its response, all before the deadline,
 * on a connection of pool's (if any) or a new one. A kept connection that the verifier
 * closed meanwhile (its idle timeout, a restart: closed before a byte of the answer) is
 * dropped and the request sent once more on a new connection. On EXCHANGE_ALLOW and
 * EXCHANGE_DENY, reason (RESP_MAX_LEN + 1 bytes) holds the response's reason code,
 * sanitized; on the other results, *err holds the errno of the failure (0 if none).
 */
static enum exchange_result exchange(const char *path, const struct verifier_pool *pool, const unsigned char *req,
				     size_t req_len, int64_t deadline, char *reason, size_t reason_size, int *err)
{
	unsigned char resp[RESP_MAX_LEN];
	*err = 0;
	reason[0] = '\0';
	for (int attempt = 0;; attempt++) {
		size_t resp_len = 0;
		int fd = pool != NULL && attempt == 0 ? pool->take() : -1;
		int kept = fd >= 0;
		enum exchange_result r = EXCHANGE_OK;
		if (!kept)
			r = open_verifier(path, deadline, &fd, err);
		if (r == EXCHANGE_OK)
			r = send_all(fd, req, req_len, deadline, err);
		if (r == EXCHANGE_OK)
			r = recv_response(fd, resp, &resp_len, deadline, err);
		/* recv_response read the header and exactly reasonLen more bytes. */
		if (r == EXCHANGE_OK && memcmp(resp, PROTO_MAGIC, PROTO_MAGIC_LEN) != 0)
			r = EXCHANGE_MALFORMED;
		if (r == EXCHANGE_OK) {
			if (pool != NULL)
				pool->give(fd);
			else
				(void)close(fd);
			sanitize(reason, reason_size, (const char *)resp + RESP_HEADER_LEN, resp_len - RESP_HEADER_LEN);
			return resp[4] == 1 ? EXCHANGE_ALLOW : EXCHANGE_DENY;
		}
		if (fd >= 0)
			(void)close(fd);
		if (!(kept && r == EXCHANGE_MALFORMED && resp_len == 0))
			return r;
		*err = 0;
	}
}

static void put_u16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void errno_text(int err, char *buf, size_t size)
{
	if (err == 0) {
		snprintf(buf, size, "connection closed");
		return;
	}
	/* GNU strerror_r: thread-safe, returns a string that may or may not be buf. */
	const char *s = strerror_r(err, buf, size);
	if (s != buf)
		snprintf(buf, size, "%s", s);
}

/*
 * ask_verifier asks the verifier at path (1..MAX_SOCKET_PATH_LEN bytes) whether user may log
 * in from host (NULL or "" when unknown) with tok, within timeout_ms, on a connection of
 * pool's or, with pool NULL, a connection of its own. The lengths must be in
 * the protocol's range (the caller checks them, to log its own refusal). On EXCHANGE_ALLOW
 * and EXCHANGE_DENY, reason (RESP_MAX_LEN + 1 bytes) holds the response's reason code,
 * sanitized; otherwise *err holds the errno of the failure (0 if none).
 */
static enum exchange_result ask_verifier(const char *path, const struct verifier_pool *pool, int timeout_ms,
					 const char *user, size_t user_len, const char *host, size_t host_len,
					 const char *tok, size_t tok_len, char *reason, size_t reason_size, int *err)
{
	size_t req_len = PROTO_MAGIC_LEN + 2 + user_len + 2 + host_len + 2 + tok_len;
	*err = 0;
	reason[0] = '\0';
	unsigned char *req = malloc(req_len);
	if (req == NULL)
		return EXCHANGE_NOMEM;
	unsigned char *p = req;
	memcpy(p, PROTO_MAGIC, PROTO_MAGIC_LEN);
	p += PROTO_MAGIC_LEN;
	put_u16(p, user_len);
	p += 2;
	memcpy(p, user, user_len);
	p += user_len;
	put_u16(p, host_len);
	p += 2;
	if (host_len > 0)
		memcpy(p, host, host_len);
	p += host_len;
	put_u16(p, tok_len);
	p += 2;
	memcpy(p, tok, tok_len);

	int64_t start = now_ms();
	enum exchange_result r = EXCHANGE_TIMEOUT;
	if (start >= 0)
		r = exchange(path, pool, req, req_len, start + timeout_ms, reason, reason_size, err);
	explicit_bzero(req, req_len);
	free(req);
	return r;
}

#endif /* IAMDB_VERIFIER_H */
