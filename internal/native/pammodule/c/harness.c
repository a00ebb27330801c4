/*
 * harness: the test driver of pam_iamdb.so (built and run by the Go tests of
 * internal/native/pammodule; not installed).
 *
 * usage: harness [-a | -r] [-t N] [-n COUNT] [-u PATH] [-k PATH,...] SERVICE CONFDIR USER RHOST
 *
 * Runs a PAM transaction on SERVICE read from CONFDIR (pam_start_confdir, Linux-PAM >= 1.4) as
 * USER, with PAM_RHOST set to RHOST unless RHOST is "-", the way PostgreSQL does: the
 * conversation answers PAM_PROMPT_ECHO_OFF with the password read from stdin (so it is not in
 * argv), refuses PAM_PROMPT_ECHO_ON, and ignores PAM_ERROR_MSG / PAM_TEXT_INFO. It calls
 * pam_authenticate then pam_acct_mgmt and prints
 *
 *     authenticate=N acct_mgmt=M prompts=P
 *
 * and exits 0 only if both returned PAM_SUCCESS. With -a it calls only pam_acct_mgmt and prints
 * "acct_mgmt=M". With -r it calls pam_authenticate twice on the same handle before
 * pam_acct_mgmt and prints "first_authenticate=N" on a line of its own first (authenticate=
 * is then the second call's result). With -t N it runs N transactions at once on N threads (as MariaDB's v1 plugin
 * does), prints one line per thread, and exits 0 only if all succeeded. With -k it prints, after
 * the transactions (pam_end included), "loaded PATH=1" or "loaded PATH=0" for each of the
 * comma-separated shared objects: whether it is still loaded in the process. With -n each
 * thread runs COUNT transactions one after another and reports the first that failed (or the
 * last). With -u another thread loads and unloads the shared object PATH in a loop while the
 * transactions run, as other threads of a server may (keep_loaded must not use the loader's
 * names of objects once dl_iterate_phdr has returned). It always prints
 * "harness: elapsed_us=N" on stderr: the transactions' wall time, process start excluded.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAX_PASSWORD (1 << 20)
#define MAX_THREADS 64

struct conv_state {
	const char *password;
	int prompts;
};

struct run {
	const char *service, *confdir, *user, *rhost;
	int acct_only, reauth, count;
	struct conv_state conv;
	int first_auth_rc, auth_rc, acct_rc, start_rc;
};

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	struct conv_state *st = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			st->prompts++;
			r[i].resp = strdup(st->password);
			if (r[i].resp == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

static void transaction(struct run *run);

/* transactions runs run->count transactions and keeps the results of the first that failed,
 * or of the last. */
static void *transactions(void *arg)
{
	struct run *run = arg, first;
	int failed = 0;
	for (int i = 0; i < run->count; i++) {
		transaction(run);
		if (!failed && (run->start_rc != PAM_SUCCESS || (!run->acct_only && run->auth_rc != PAM_SUCCESS) ||
				run->acct_rc != PAM_SUCCESS)) {
			failed = 1;
			first = *run;
		}
	}
	if (failed)
		*run = first;
	return NULL;
}

static atomic_int churn_stop;

/* churn loads and unloads the shared object arg until churn_stop is set. */
static void *churn(void *arg)
{
	const char *path = arg;
	while (!atomic_load(&churn_stop)) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (h == NULL) {
			fprintf(stderr, "harness: dlopen %s: %s\n", path, dlerror());
			exit(2);
		}
		dlclose(h);
	}
	return NULL;
}

static void transaction(struct run *run)
{
	struct pam_conv conv = {.conv = converse, .appdata_ptr = &run->conv};
	pam_handle_t *pamh = NULL;
	run->first_auth_rc = run->auth_rc = run->acct_rc = -1;
	run->start_rc = pam_start_confdir(run->service, run->user, &conv, run->confdir, &pamh);
	if (run->start_rc != PAM_SUCCESS)
		return;
	int rc = PAM_SUCCESS;
	if (strcmp(run->rhost, "-") != 0)
		rc = pam_set_item(pamh, PAM_RHOST, run->rhost);
	if (rc == PAM_SUCCESS && run->reauth)
		run->first_auth_rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS && !run->acct_only)
		run->auth_rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		run->acct_rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, PAM_SUCCESS);
}

static int usage(void)
{
	fprintf(stderr, "usage: harness [-a | -r] [-t N] [-n COUNT] [-u PATH] [-k PATH,...] SERVICE CONFDIR USER RHOST (password on stdin)\n");
	return 2;
}

int main(int argc, char **argv)
{
	int acct_only = 0, reauth = 0, threads = 1, count = 1, opt;
	char *kept = NULL, *unload = NULL;
	while ((opt = getopt(argc, argv, "art:n:u:k:")) != -1) {
		switch (opt) {
		case 'a':
			acct_only = 1;
			break;
		case 'r':
			reauth = 1;
			break;
		case 'k':
			kept = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			if (count < 1)
				return usage();
			break;
		case 'u':
			unload = optarg;
			break;
		case 't':
			threads = atoi(optarg);
			if (threads < 1 || threads > MAX_THREADS)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 4 || (acct_only && reauth))
		return usage();

	char *password = malloc(MAX_PASSWORD + 1);
	if (password == NULL)
		return 2;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(0, password + len, MAX_PASSWORD - len);
		if (n < 0) {
			perror("harness: read stdin");
			return 2;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == MAX_PASSWORD) {
			fprintf(stderr, "harness: password too long\n");
			return 2;
		}
	}
	password[len] = '\0';

	struct run runs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	for (int i = 0; i < threads; i++) {
		runs[i] = (struct run){
		    .service = argv[optind],
		    .confdir = argv[optind + 1],
		    .user = argv[optind + 2],
		    .rhost = argv[optind + 3],
		    .acct_only = acct_only,
		    .reauth = reauth,
		    .count = count,
		    .conv = {.password = password},
		};
	}
	pthread_t churner;
	if (unload != NULL && pthread_create(&churner, NULL, churn, unload) != 0) {
		fprintf(stderr, "harness: pthread_create failed\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (threads == 1) {
		transactions(&runs[0]);
	} else {
		for (int i = 0; i < threads; i++) {
			if (pthread_create(&tids[i], NULL, transactions, &runs[i]) != 0) {
				fprintf(stderr, "harness: pthread_create failed\n");
				return 2;
			}
		}
		for (int i = 0; i < threads; i++)
			pthread_join(tids[i], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (unload != NULL) {
		atomic_store(&churn_stop, 1);
		pthread_join(churner, NULL);
	}
	/* The transactions' own time, without the process's start: the tests' deadlines. */
	fprintf(stderr, "harness: elapsed_us=%lld\n",
		(long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	explicit_bzero(password, len);
	free(password);

	int ok = 1;
	for (int i = 0; i < threads; i++) {
		struct run *r = &runs[i];
		if (r->start_rc != PAM_SUCCESS) {
			printf("pam_start=%d\n", r->start_rc);
			ok = 0;
			continue;
		}
		if (acct_only) {
			printf("acct_mgmt=%d\n", r->acct_rc);
			ok = ok && r->acct_rc == PAM_SUCCESS;
		} else {
			if (reauth)
				printf("first_authenticate=%d\n", r->first_auth_rc);
			printf("authenticate=%d acct_mgmt=%d prompts=%d\n", r->auth_rc, r->acct_rc, r->conv.prompts);
			ok = ok && r->auth_rc == PAM_SUCCESS && r->acct_rc == PAM_SUCCESS;
		}
	}
	for (char *save = NULL, *path = kept ? strtok_r(kept, ",", &save) : NULL; path != NULL;
	     path = strtok_r(NULL, ",", &save)) {
		void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
		printf("loaded %s=%d\n", path, h != NULL);
		if (h != NULL)
			dlclose(h);
	}
	return ok ? 0 : 1;
}
