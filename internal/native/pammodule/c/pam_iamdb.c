/*
 * pam_iamdb.so: a Linux-PAM authentication module that asks iamdb's local verifier whether a
 * database login may proceed.
 *
 * The module takes the user (PAM_USER), the client address (PAM_RHOST, may be absent) and the
 * token (the password, PAM_AUTHTOK or else prompted through the conversation), sends them to
 * the verifier over a Unix stream socket in the native verifier protocol (one request, one
 * response; see the Go package doc of internal/native/pammodule), and returns PAM_SUCCESS only
 * when it read a complete, well-formed response whose verdict is "allow". Everything else fails
 * closed:
 *
 *   verifier unreachable or the deadline passed   PAM_AUTHINFO_UNAVAIL (logged at LOG_ERR)
 *   deny, malformed or truncated response          PAM_AUTH_ERR (logged at LOG_NOTICE)
 *   a length out of the protocol's range           PAM_AUTH_ERR, without contacting the verifier
 *   bad module arguments                           PAM_SERVICE_ERR (logged at LOG_ERR)
 *
 * Arguments: socket=PATH (required), timeout=MS (50..30000, default 2000: one deadline for
 * connect, write and read together), keep_loaded (below). use_first_pass and try_first_pass
 * are accepted and honoured by pam_get_authtok.
 *
 * keep_loaded: libpam loads every module of the service and of "other" at each pam_start
 * and unloads them at each pam_end, so a server that authenticates many logins in one
 * process (MariaDB's PAM plugin) maps, relocates and initialises the whole stack (pam_unix
 * and its libraries, ...) per login. With keep_loaded, each authentication marks the PAM
 * modules loaded in the process (the objects exporting a pam_sm_* function) RTLD_NODELETE,
 * so pam_end leaves them mapped and the next pam_start finds them loaded. Nothing else
 * changes: libpam still reads the configuration and calls the modules per handle. Once the
 * modules are kept, later authentications only compare the dynamic loader's load and
 * unload counters with those seen then (one atomic, below) and do the work again only if
 * something was loaded or unloaded since.
 *
 * pam_sm_acct_mgmt succeeds only on a handle whose pam_sm_authenticate succeeded, so that an
 * "account" line cannot let through a login this module did not allow. pam_sm_setcred returns
 * PAM_SUCCESS (an "auth" line needs the symbol).
 *
 * The module keeps no mutable static state but keep_loaded's atomic counter (MariaDB's v1
 * plugin runs PAM on many threads at once), never logs or writes the token anywhere but to the verifier's socket, and wipes its
 * copy of the request before freeing it.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define IAMDB_EXPORT __attribute__((visibility("default")))

/* Protocol limits (protocol.md). */
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

/* The pam_set_data key that marks a handle this module authenticated. */
#define DATA_AUTHENTICATED "pam_iamdb_authenticated"

/* Only its address is used: immutable, so shared by every thread. */
static const char authenticated_marker = 1;

/* At most this many loaded objects are looked at by keep_loaded. */
#define MAX_KEEP_OBJECTS 512

struct options {
	const char *socket_path;
	int timeout_ms;
	int keep_loaded;
};

/* Outcome of one exchange with the verifier. */
enum exchange_result {
	EXCHANGE_OK,          /* a step succeeded (never the final result) */
	EXCHANGE_ALLOW,
	EXCHANGE_DENY,        /* a well-formed response whose verdict is not allow */
	EXCHANGE_MALFORMED,   /* bad magic, truncated, peer closed or reset */
	EXCHANGE_UNREACHABLE, /* cannot connect */
	EXCHANGE_TIMEOUT,     /* the deadline passed */
};

static int parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *opt)
{
	opt->socket_path = NULL;
	opt->timeout_ms = DEFAULT_TIMEOUT_MS;
	opt->keep_loaded = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "socket=", 7) == 0) {
			const char *p = a + 7;
			size_t n = strlen(p);
			if (n == 0 || n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				pam_syslog(pamh, LOG_ERR, "socket= must name a path of 1..%zu bytes",
					   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
				return PAM_SERVICE_ERR;
			}
			opt->socket_path = p;
		} else if (strncmp(a, "timeout=", 8) == 0) {
			const char *p = a + 8;
			char *end = NULL;
			errno = 0;
			long v = strtol(p, &end, 10);
			if (errno != 0 || end == p || *end != '\0' || v < MIN_TIMEOUT_MS || v > MAX_TIMEOUT_MS) {
				pam_syslog(pamh, LOG_ERR, "timeout= must be a number of milliseconds in %d..%d",
					   MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
				return PAM_SERVICE_ERR;
			}
			opt->timeout_ms = (int)v;
		} else if (strcmp(a, "keep_loaded") == 0) {
			opt->keep_loaded = 1;
		} else if (strcmp(a, "use_first_pass") == 0 || strcmp(a, "try_first_pass") == 0) {
			/* read by pam_get_authtok */
		} else {
			/* Module arguments come from a root-owned file; still, log only their start. */
			pam_syslog(pamh, LOG_ERR, "unknown argument %.32s", a);
			return PAM_SERVICE_ERR;
		}
	}
	if (opt->socket_path == NULL) {
		pam_syslog(pamh, LOG_ERR, "missing socket= argument (the iamdb verifier's Unix socket)");
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

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
 * exchange sends req to the verifier at path and reads its response, all before the deadline.
 * On EXCHANGE_ALLOW and EXCHANGE_DENY, reason (RESP_MAX_LEN + 1 bytes) holds the response's
 * reason code, sanitized; on the other results, *err holds the errno of the failure (0 if none).
 */
static enum exchange_result exchange(const char *path, const unsigned char *req, size_t req_len, int64_t deadline,
				     char *reason, size_t reason_size, int *err)
{
	unsigned char resp[RESP_MAX_LEN];
	size_t resp_len = 0;
	*err = 0;
	reason[0] = '\0';

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err = errno;
		return EXCHANGE_UNREACHABLE;
	}
	enum exchange_result r = connect_verifier(fd, path, deadline, err);
	if (r == EXCHANGE_OK)
		r = send_all(fd, req, req_len, deadline, err);
	if (r == EXCHANGE_OK)
		r = recv_response(fd, resp, &resp_len, deadline, err);
	(void)close(fd);
	if (r != EXCHANGE_OK)
		return r;

	/* recv_response read the header and exactly reasonLen more bytes. */
	if (memcmp(resp, PROTO_MAGIC, PROTO_MAGIC_LEN) != 0)
		return EXCHANGE_MALFORMED;
	sanitize(reason, reason_size, (const char *)resp + RESP_HEADER_LEN, resp_len - RESP_HEADER_LEN);
	return resp[4] == 1 ? EXCHANGE_ALLOW : EXCHANGE_DENY;
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
 * kept_generation is the dynamic loader's load and unload count (dlpi_adds + dlpi_subs) + 1
 * when keep_modules_loaded last marked the PAM modules; 0 before. Only a hint: a race
 * between threads at worst marks the modules twice.
 */
static _Atomic unsigned long long kept_generation;

/* loader_generation reads dlpi_adds + dlpi_subs + 1 (0 if the C library lacks them). */
static int loader_generation(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long long *gen = data;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
		*gen = info->dlpi_adds + info->dlpi_subs + 1;
	return 1; /* the counters are the same in every entry: stop at the first */
}

/* The loaded objects' names, collected by dl_iterate_phdr for keep_modules_loaded. */
struct loaded_objects {
	const char *names[MAX_KEEP_OBJECTS];
	size_t n;
};

static int collect_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct loaded_objects *lo = data;
	if (info->dlpi_name != NULL && info->dlpi_name[0] == '/' && lo->n < MAX_KEEP_OBJECTS)
		lo->names[lo->n++] = info->dlpi_name;
	return 0;
}

/* is_pam_module reports whether the loaded object h defines one of PAM's module entry points. */
static int is_pam_module(void *h)
{
	static const char *const entry[] = {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
					    "pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok"};
	for (size_t i = 0; i < sizeof entry / sizeof entry[0]; i++) {
		void *sym = dlsym(h, entry[i]);
		Dl_info where;
		/* dlsym also searches h's dependencies: the definition must be h's own. */
		if (sym != NULL && dladdr(sym, &where) != 0 && where.dli_fbase != NULL) {
			void *own = dlopen(where.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
			if (own != NULL) {
				int same = own == h;
				dlclose(own);
				if (same)
					return 1;
			}
		}
	}
	return 0;
}

/*
 * keep_modules_loaded marks every PAM module loaded in the process (libpam loaded the whole
 * stack at pam_start) RTLD_NODELETE, with the libraries they depend on, so that pam_end does
 * not unload them (keep_loaded). Only the process's own, already loaded objects are touched:
 * RTLD_NOLOAD never loads anything. The names are collected first and opened after
 * dl_iterate_phdr returns; the objects stay loaded meanwhile (libpam holds them).
 */
static void keep_modules_loaded(void)
{
	unsigned long long gen = 0;
	dl_iterate_phdr(loader_generation, &gen);
	if (gen != 0 && gen == atomic_load_explicit(&kept_generation, memory_order_relaxed))
		return; /* nothing loaded or unloaded since the modules were marked */
	struct loaded_objects *lo = malloc(sizeof *lo);
	if (lo == NULL)
		return;
	lo->n = 0;
	dl_iterate_phdr(collect_object, lo);
	for (size_t i = 0; i < lo->n; i++) {
		/* PAM modules are named pam_*.so by convention; is_pam_module makes sure. */
		const char *base = strrchr(lo->names[i], '/');
		if (base == NULL || strncmp(base + 1, "pam_", 4) != 0)
			continue;
		void *h = dlopen(lo->names[i], RTLD_LAZY | RTLD_NOLOAD);
		if (h == NULL)
			continue;
		if (is_pam_module(h)) {
			void *pin = dlopen(lo->names[i], RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
			if (pin != NULL)
				dlclose(pin);
		}
		dlclose(h);
	}
	free(lo);
	/* RTLD_NOLOAD loads nothing, so the counters read before still hold unless another
	 * thread loaded something meanwhile; then the next call does the work again. */
	atomic_store_explicit(&kept_generation, gen, memory_order_relaxed);
}

IAMDB_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;

	/* Forget any earlier success on this handle before deciding again. */
	if (pam_set_data(pamh, DATA_AUTHENTICATED, NULL, NULL) != PAM_SUCCESS)
		return PAM_SERVICE_ERR;

	struct options opt;
	int rc = parse_options(pamh, argc, argv, &opt);
	if (rc != PAM_SUCCESS)
		return rc;
	if (opt.keep_loaded)
		keep_modules_loaded();

	const char *user = NULL;
	rc = pam_get_user(pamh, &user, NULL);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "cannot get the user name: %s", pam_strerror(pamh, rc));
		return rc;
	}
	if (user == NULL)
		return PAM_SERVICE_ERR;
	size_t user_len = strlen(user);
	char user_log[64];
	sanitize(user_log, sizeof user_log, user, user_len);

	const void *item = NULL;
	rc = pam_get_item(pamh, PAM_RHOST, &item);
	if (rc != PAM_SUCCESS)
		return PAM_SERVICE_ERR;
	const char *host = item;
	size_t host_len = host == NULL ? 0 : strlen(host);

	if (user_len < 1 || user_len > MAX_USER_LEN) {
		pam_syslog(pamh, LOG_NOTICE, "refused user \"%s\": user name of %zu bytes (1..%d)", user_log,
			   user_len, MAX_USER_LEN);
		return PAM_AUTH_ERR;
	}
	if (host_len > MAX_HOST_LEN) {
		pam_syslog(pamh, LOG_NOTICE, "refused user \"%s\": client host of %zu bytes (0..%d)", user_log,
			   host_len, MAX_HOST_LEN);
		return PAM_AUTH_ERR;
	}

	const char *tok = NULL;
	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "refused user \"%s\": cannot get the token: %s", user_log,
			   pam_strerror(pamh, rc));
		return rc;
	}
	size_t tok_len = tok == NULL ? 0 : strlen(tok);
	if (tok_len < 1 || tok_len > MAX_TOKEN_LEN) {
		pam_syslog(pamh, LOG_NOTICE, "refused user \"%s\": token of %zu bytes (1..%d)", user_log, tok_len,
			   MAX_TOKEN_LEN);
		return PAM_AUTH_ERR;
	}

	size_t req_len = PROTO_MAGIC_LEN + 2 + user_len + 2 + host_len + 2 + tok_len;
	unsigned char *req = malloc(req_len);
	if (req == NULL) {
		pam_syslog(pamh, LOG_ERR, "out of memory");
		return PAM_BUF_ERR;
	}
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

	char reason[RESP_MAX_LEN + 1];
	int err = 0;
	int64_t start = now_ms();
	enum exchange_result r = EXCHANGE_TIMEOUT;
	if (start >= 0)
		r = exchange(opt.socket_path, req, req_len, start + opt.timeout_ms, reason, sizeof reason, &err);
	explicit_bzero(req, req_len);
	free(req);

	char errbuf[128];
	switch (r) {
	case EXCHANGE_ALLOW:
		rc = pam_set_data(pamh, DATA_AUTHENTICATED, (void *)&authenticated_marker, NULL);
		if (rc != PAM_SUCCESS) {
			pam_syslog(pamh, LOG_ERR, "cannot record the verdict: %s", pam_strerror(pamh, rc));
			return PAM_SERVICE_ERR;
		}
		return PAM_SUCCESS;
	case EXCHANGE_DENY:
		pam_syslog(pamh, LOG_NOTICE, "refused user \"%s\": %s", user_log, reason[0] ? reason : "denied");
		return PAM_AUTH_ERR;
	case EXCHANGE_MALFORMED:
		errno_text(err, errbuf, sizeof errbuf);
		pam_syslog(pamh, LOG_NOTICE, "refused user \"%s\": no valid answer from the verifier at %s (%s)",
			   user_log, opt.socket_path, errbuf);
		return PAM_AUTH_ERR;
	case EXCHANGE_TIMEOUT:
		pam_syslog(pamh, LOG_ERR, "refused user \"%s\": the verifier at %s did not answer within %d ms",
			   user_log, opt.socket_path, opt.timeout_ms);
		return PAM_AUTHINFO_UNAVAIL;
	case EXCHANGE_UNREACHABLE:
	default:
		errno_text(err, errbuf, sizeof errbuf);
		pam_syslog(pamh, LOG_ERR, "refused user \"%s\": cannot reach the verifier at %s: %s", user_log,
			   opt.socket_path, errbuf);
		return PAM_AUTHINFO_UNAVAIL;
	}
}

IAMDB_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

IAMDB_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	(void)argc;
	(void)argv;
	const void *data = NULL;
	if (pam_get_data(pamh, DATA_AUTHENTICATED, &data) == PAM_SUCCESS && data == &authenticated_marker)
		return PAM_SUCCESS;
	pam_syslog(pamh, LOG_NOTICE, "account refused: pam_iamdb did not authenticate this login");
	return PAM_PERM_DENIED;
}
