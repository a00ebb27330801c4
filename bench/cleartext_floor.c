/*
 * cleartext_floor.so: a MariaDB server authentication plugin for bench/native.sh only, never
 * for a real server. It measures the floor under every RDS-style IAM login to MariaDB: the
 * AuthSwitch. A client that answers the server's greeting with mysql_native_password (as
 * go-sql-driver and RDS's documented clients do) is switched to mysql_clear_password and
 * sends its password again; this plugin then compares it with the user's authentication
 * string, in process, and asks nobody:
 *
 *   INSTALL SONAME 'cleartext_floor';
 *   CREATE USER 'u'@'%' IDENTIFIED WITH bench_cleartext_floor AS 'the password' REQUIRE SSL;
 *
 * An AWSAuthenticationPlugin login is this login plus the verifier's exchange and decision,
 * so (c)'s native / floor is what the verifier costs, and floor / direct what the protocol
 * costs before any verification. The password is stored in clear in mysql.global_priv:
 * hence bench only (bench/native.sh builds it and installs it in iamdb dev's throwaway
 * server).
 */
#include <string.h>

#include <mysql/plugin_auth.h>

static int authenticate(MYSQL_PLUGIN_VIO *vio, MYSQL_SERVER_AUTH_INFO *info)
{
	unsigned char *pkt = NULL;
	int n = vio->read_packet(vio, &pkt);
	if (n < 0)
		return CR_ERROR;
	size_t len = (size_t)n;
	if (len > 0 && pkt[len - 1] == '\0')
		len--; /* mysql_clear_password sends the terminating NUL */
	info->password_used = len > 0 ? PASSWORD_USED_YES : PASSWORD_USED_NO;
	if (len == 0 || len != info->auth_string_length)
		return CR_ERROR;
	unsigned char diff = 0;
	for (size_t i = 0; i < len; i++)
		diff |= pkt[i] ^ (unsigned char)info->auth_string[i];
	return diff == 0 ? CR_OK : CR_ERROR;
}

static struct st_mysql_auth floor_auth = {
	MYSQL_AUTHENTICATION_INTERFACE_VERSION,
	"mysql_clear_password",
	authenticate,
	NULL,
	NULL,
};

maria_declare_plugin(cleartext_floor){
	MYSQL_AUTHENTICATION_PLUGIN,
	&floor_auth,
	"bench_cleartext_floor",
	"iamdb",
	"bench/native.sh only: a clear-text password login, the floor of an IAM login's cost",
	PLUGIN_LICENSE_PROPRIETARY,
	NULL,
	NULL,
	0x0100,
	NULL,
	NULL,
	"1.0",
	MariaDB_PLUGIN_MATURITY_STABLE, /* servers load only gamma and stable plugins by default */
} maria_declare_plugin_end;
