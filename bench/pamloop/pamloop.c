/*
 * pamloop: the CPU one PAM login costs a long-lived process that, like MariaDB's PAM plugin
 * (auth_pam_v1), runs a whole PAM transaction per login: pam_start_confdir, pam_authenticate,
 * pam_acct_mgmt, pam_end, N times in a row on one thread. It prints the user+system CPU
 * (getrusage) and the wall time per iteration, and how many iterations failed.
 *
 *   cc -O2 -o pamloop bench/pamloop/pamloop.c -lpam
 *   pamloop SERVICE CONFDIR N
 *
 * CONFDIR holds SERVICE and "other" (Linux-PAM >= 1.4 reads both from there, and the files
 * they include), so variants of "other" are measured without touching /etc/pam.d. The
 * conversation answers every prompt with "x". Used for docs/benchmarks.md's native section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <security/pam_appl.h>

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		r[i].resp = strdup("x");
	*resp = r;
	return PAM_SUCCESS;
}

static double cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static double wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: pamloop SERVICE CONFDIR N\n");
		return 2;
	}
	long n = strtol(argv[3], NULL, 10);
	struct pam_conv conv = {converse, NULL};
	long failed = 0;
	double c0 = cpu_us(), w0 = wall_us();
	for (long i = 0; i < n; i++) {
		pam_handle_t *pamh = NULL;
		int rc = pam_start_confdir(argv[1], "pamloop", &conv, argv[2], &pamh);
		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_acct_mgmt(pamh, 0);
		if (rc != PAM_SUCCESS)
			failed++;
		if (pamh != NULL)
			pam_end(pamh, rc);
	}
	double c1 = cpu_us(), w1 = wall_us();
	printf("%s %s: %ld iterations, CPU %.0f us, wall %.0f us per iteration, %ld failed\n", argv[1], argv[2], n,
	       (c1 - c0) / n, (w1 - w0) / n, failed);
	return 0;
}
