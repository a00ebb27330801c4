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
#include <link.h>
#include <stdatomic.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "iamdb_verifier.h"

/* The pam_set_data key that marks a handle this module authenticated. */
#define DATA_AUTHENTICATED "pam_iamdb_authenticated"

/* Only its address is used: immutable, so shared by every thread. */
static const char authenticated_marker = 1;

/* At most this many loaded PAM modules are looked at by keep_loaded. */
#define MAX_KEEP_OBJECTS 512

struct options {
	const char *socket_path;
	int timeout_ms;
	int keep_loaded;
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
			if (n == 0 || n > MAX_SOCKET_PATH_LEN) {
				pam_syslog(pamh, LOG_ERR, "socket= must name a path of 1..%zu bytes",
					   MAX_SOCKET_PATH_LEN);
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

/* The loaded PAM modules' names, collected by dl_iterate_phdr for keep_modules_loaded:
 * copies, since the loader frees an object's name when another thread unloads it, which it
 * may do as soon as dl_iterate_phdr returns. */
struct loaded_objects {
	char *names[MAX_KEEP_OBJECTS];
	size_t n;
};

static int collect_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct loaded_objects *lo = data;
	if (info->dlpi_name == NULL || info->dlpi_name[0] != '/' || lo->n >= MAX_KEEP_OBJECTS)
		return 0;
	/* PAM modules are named pam_*.so by convention; is_pam_module makes sure. */
	const char *base = strrchr(info->dlpi_name, '/');
	if (strncmp(base + 1, "pam_", 4) != 0)
		return 0;
	char *copy = strdup(info->dlpi_name);
	if (copy != NULL)
		lo->names[lo->n++] = copy;
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
 * RTLD_NOLOAD never loads anything. The names are copied first and opened after
 * dl_iterate_phdr returns: an object another thread unloaded meanwhile is simply not found.
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
		void *h = dlopen(lo->names[i], RTLD_LAZY | RTLD_NOLOAD);
		if (h != NULL) {
			if (is_pam_module(h)) {
				void *pin = dlopen(lo->names[i], RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
				if (pin != NULL)
					dlclose(pin);
			}
			dlclose(h);
		}
		free(lo->names[i]);
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

	char reason[RESP_MAX_LEN + 1];
	int err = 0;
	enum exchange_result r = ask_verifier(opt.socket_path, NULL, opt.timeout_ms, user, user_len, host, host_len, tok,
					      tok_len, reason, sizeof reason, &err);

	char errbuf[128];
	switch (r) {
	case EXCHANGE_NOMEM:
		pam_syslog(pamh, LOG_ERR, "out of memory");
		return PAM_BUF_ERR;
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
