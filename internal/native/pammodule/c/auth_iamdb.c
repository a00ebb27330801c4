/*
 * auth_iamdb.so: a MariaDB server authentication plugin, AWSAuthenticationPlugin, that asks
 * iamdb's local verifier whether a login may proceed - RDS for MySQL's own design (its
 * AWSAuthenticationPlugin), with no PAM in between:
 *
 *   INSTALL SONAME 'auth_iamdb';                       -- or plugin_load_add = auth_iamdb
 *   CREATE USER 'u'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;
 *
 * The plugin asks the client for its password with mysql_clear_password (the client plugin
 * RDS's asks for: `mariadb --enable-cleartext-plugin`, go-sql-driver's
 * allowCleartextPasswords=true), reads it (the IAM auth token), and sends the verifier the
 * user name the client gave, the client's address (getpeername of the connection: the
 * policy's aws:SourceIp) and the token, in the native verifier protocol (iamdb_verifier.h).
 * It returns CR_OK only when the verifier answered allow; everything else fails closed, and
 * MariaDB answers the client as RDS does: ERROR 1045 (28000) Access denied for user
 * 'u'@'host' (using password: YES) - "NO" when the client sent no password at all.
 *
 * System variables (read-only: set in the server's configuration):
 *   awsauthenticationplugin_socket   the verifier's Unix socket (default /run/iamdb/mariadb.sock)
 *   awsauthenticationplugin_timeout  milliseconds for the whole exchange (50..30000, 2000)
 *
 * The authentication string (AS 'RDS' in RDS's syntax) is not used. Refusals are written to
 * the server's error log with the verifier's reason code, never the token; iamdb's own log
 * and audit record hold the detail.
 *
 * Connections to the verifier are kept for further logins (up to POOL_SIZE idle ones, the
 * plugin's only mutable state, under a mutex: MariaDB authenticates on many threads at
 * once), so a login costs the verifier one request, not a connection; a kept connection the
 * verifier has closed is noticed before use (poll) or, failing that, the request is sent
 * again once on a new one. The plugin's deinit closes them.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <mysql/plugin_auth.h>

#include "iamdb_verifier.h"

/*
 * The server's error log is reached through its my_print_error service. A plugin defines the
 * service's pointer, holding the interface version it was built for (0x0100, MariaDB's
 * include/service_versions.h); the server checks the version when it loads the plugin and
 * puts the service there (sql_plugin.cc, plugin_dl_add).
 */
#define MY_PRINT_ERROR_SERVICE_VERSION 0x0100
IAMDB_EXPORT struct my_print_error_service_st *my_print_error_service =
	(struct my_print_error_service_st *)(intptr_t)MY_PRINT_ERROR_SERVICE_VERSION;

static char *verifier_socket;
static unsigned int verifier_timeout_ms;

static MYSQL_SYSVAR_STR(socket, verifier_socket, PLUGIN_VAR_RQCMDARG | PLUGIN_VAR_READONLY,
			"The Unix socket of iamdb's local verifier for this server", NULL, NULL,
			"/run/iamdb/mariadb.sock");
static MYSQL_SYSVAR_UINT(timeout, verifier_timeout_ms, PLUGIN_VAR_RQCMDARG | PLUGIN_VAR_READONLY,
			 "Milliseconds the verifier has to answer one login (connect, send and read)", NULL,
			 NULL, DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, 0);

/* The idle connections kept for further logins. */
#define POOL_SIZE 16
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool_fds[POOL_SIZE];
static int pool_len;

/* pool_take returns a kept connection that is still open and has nothing to read, or -1. */
static int pool_take(void)
{
	for (;;) {
		pthread_mutex_lock(&pool_lock);
		int fd = pool_len > 0 ? pool_fds[--pool_len] : -1;
		pthread_mutex_unlock(&pool_lock);
		if (fd < 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 0) == 0)
			return fd;
		(void)close(fd); /* closed by the verifier, or it sent what nobody asked for */
	}
}

/* pool_give keeps fd for a further login, or closes it when POOL_SIZE are kept. */
static void pool_give(int fd)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_len < POOL_SIZE) {
		pool_fds[pool_len++] = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&pool_lock);
	if (fd >= 0)
		(void)close(fd);
}

static const struct verifier_pool pool = {pool_take, pool_give};

/* plugin_deinit closes the kept connections (UNINSTALL SONAME, shutdown). */
static int plugin_deinit(void *p)
{
	(void)p;
	pthread_mutex_lock(&pool_lock);
	while (pool_len > 0)
		(void)close(pool_fds[--pool_len]);
	pthread_mutex_unlock(&pool_lock);
	return 0;
}

static struct st_mysql_sys_var *system_variables[] = {MYSQL_SYSVAR(socket), MYSQL_SYSVAR(timeout), NULL};

/*
 * client_address writes the connection's peer IP address into buf (INET6_ADDRSTRLEN bytes),
 * an IPv4-mapped IPv6 address as plain IPv4, and "" for a Unix socket or when it cannot tell.
 */
static void client_address(MYSQL_PLUGIN_VIO *vio, char *buf, size_t size)
{
	buf[0] = '\0';
	MYSQL_PLUGIN_VIO_INFO info;
	memset(&info, 0, sizeof info);
	vio->info(vio, &info);
	if (info.protocol != MYSQL_VIO_TCP)
		return;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getpeername(info.socket, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, size);
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, size);
		else
			inet_ntop(AF_INET6, a, buf, size);
	}
}

static void log_refusal(unsigned long flags, const char *fmt, const char *user, const char *detail)
{
	my_printf_error(0, fmt, ME_ERROR_LOG_ONLY | flags, user, detail);
}

static int authenticate(MYSQL_PLUGIN_VIO *vio, MYSQL_SERVER_AUTH_INFO *info)
{
	unsigned char *pkt = NULL;
	int n = vio->read_packet(vio, &pkt);
	if (n < 0)
		return CR_ERROR; /* the client went away or refused the cleartext plugin */

	char user_log[64];
	sanitize(user_log, sizeof user_log, info->user_name ? info->user_name : "",
		 info->user_name ? info->user_name_length : 0);

	/* mysql_clear_password sends the password and its terminating NUL. */
	size_t tok_len = (size_t)n;
	if (tok_len > 0 && pkt[tok_len - 1] == '\0')
		tok_len--;
	if (tok_len == 0) {
		info->password_used = PASSWORD_USED_NO;
		return CR_ERROR;
	}
	info->password_used = PASSWORD_USED_YES;
	if (tok_len > MAX_TOKEN_LEN || memchr(pkt, '\0', tok_len) != NULL) {
		log_refusal(ME_NOTE, "AWSAuthenticationPlugin: refused user '%s': %s", user_log,
			    "the password is not a token (a NUL byte, or over 16384 bytes)");
		return CR_ERROR;
	}
	size_t user_len = info->user_name ? info->user_name_length : 0;
	if (user_len < 1 || user_len > MAX_USER_LEN) {
		log_refusal(ME_NOTE, "AWSAuthenticationPlugin: refused user '%s': %s", user_log,
			    "a user name of 1..256 bytes is needed");
		return CR_ERROR;
	}
	const char *path = verifier_socket;
	if (path == NULL || path[0] == '\0' || strlen(path) > MAX_SOCKET_PATH_LEN) {
		log_refusal(ME_WARNING, "AWSAuthenticationPlugin: refused user '%s': %s", user_log,
			    "awsauthenticationplugin_socket must name the verifier's socket (1..107 bytes)");
		return CR_ERROR;
	}

	char host[INET6_ADDRSTRLEN];
	client_address(vio, host, sizeof host);

	char reason[RESP_MAX_LEN + 1];
	char detail[RESP_MAX_LEN + 160];
	int err = 0;
	enum exchange_result r = ask_verifier(path, &pool, (int)verifier_timeout_ms, info->user_name, user_len, host,
					      strlen(host), (const char *)pkt, tok_len, reason, sizeof reason, &err);
	switch (r) {
	case EXCHANGE_ALLOW:
		return CR_OK;
	case EXCHANGE_DENY:
		log_refusal(ME_NOTE, "AWSAuthenticationPlugin: refused user '%s': %s", user_log,
			    reason[0] ? reason : "denied");
		return CR_ERROR;
	case EXCHANGE_NOMEM:
		log_refusal(ME_WARNING, "AWSAuthenticationPlugin: refused user '%s': %s", user_log, "out of memory");
		return CR_ERROR;
	case EXCHANGE_TIMEOUT:
		snprintf(detail, sizeof detail, "the verifier at %s did not answer within %u ms", path,
			 verifier_timeout_ms);
		log_refusal(ME_WARNING, "AWSAuthenticationPlugin: refused user '%s': %s", user_log, detail);
		return CR_ERROR;
	case EXCHANGE_MALFORMED: {
		char errbuf[128];
		errno_text(err, errbuf, sizeof errbuf);
		snprintf(detail, sizeof detail, "no valid answer from the verifier at %s (%s)", path, errbuf);
		log_refusal(ME_WARNING, "AWSAuthenticationPlugin: refused user '%s': %s", user_log, detail);
		return CR_ERROR;
	}
	case EXCHANGE_UNREACHABLE:
	default: {
		char errbuf[128];
		errno_text(err, errbuf, sizeof errbuf);
		snprintf(detail, sizeof detail, "cannot reach the verifier at %s: %s", path, errbuf);
		log_refusal(ME_WARNING, "AWSAuthenticationPlugin: refused user '%s': %s", user_log, detail);
		return CR_ERROR;
	}
	}
}

static struct st_mysql_auth auth_iamdb = {
	MYSQL_AUTHENTICATION_INTERFACE_VERSION,
	"mysql_clear_password", /* the client sends the token as is, inside TLS (REQUIRE SSL) */
	authenticate,
	NULL, /* no hash_password: SET PASSWORD has nothing to store */
	NULL,
};

/* The declarations the server looks up in the library (built with -fvisibility=hidden). */
#pragma GCC visibility push(default)
maria_declare_plugin(auth_iamdb){
	MYSQL_AUTHENTICATION_PLUGIN,
	&auth_iamdb,
	"AWSAuthenticationPlugin",
	"iamdb",
	"AWS IAM database authentication: IAM auth tokens checked by iamdb's local verifier",
	PLUGIN_LICENSE_PROPRIETARY,
	NULL,
	plugin_deinit,
	0x0100,
	NULL,
	system_variables,
	"1.0",
	MariaDB_PLUGIN_MATURITY_STABLE,
} maria_declare_plugin_end;
#pragma GCC visibility pop
