/*
 * mcload.c - a steady memcached load that checks every reply, for the
 * live-patch-under-load test (run-memcached-load).
 *
 *   mcload -p PORT -V VERSION [-c CONNS] [-s STATUS_FILE]
 *   mcload --free-port          print a free TCP port on 127.0.0.1, exit
 *
 * CONNS threads, each with its own connection to 127.0.0.1:PORT and its own
 * keys, loop over the text protocol: `set` of a value whose content and
 * length change every round (expects STORED), `get` of it (expects exactly
 * that VALUE line, those bytes, END) and `version`.  A reply that is wrong,
 * late (5 s) or missing, or a connection the server closes, is a failure.
 *
 * The `version` reply is judged by the phase the request was SENT in;
 * SIGUSR1 moves to the next phase (the test signals before and after each
 * doctor command):
 *   0 original    only "VERSION V"
 *   1 patching    "VERSION V" or the patched reply
 *   2 patched     only "VERSION V (live-patched, N requests)", N > 0
 *   3 unpatching  either
 *   4 original    only "VERSION V"
 * Every 100 ms the status file is rewritten with the counters (one line,
 * `key=value`); SIGTERM/SIGINT stop the load and the final counters go to
 * stdout.  Exit status 0 only if nothing failed and the replies of phases
 * 0, 2 and 4 were seen.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define NPHASES 5
#define REPLY_TIMEOUT_MS 5000

static int port;
static const char *version;
static atomic_int phase;
static atomic_int stopping;

/* Counters, shared by the threads. */
static atomic_ulong requests;                  /* replies received and checked */
static atomic_ulong failures;
static atomic_ulong version_seen[NPHASES][2];  /* [phase][0 original, 1 patched] */
static atomic_ulong max_latency_us[NPHASES];   /* slowest reply per phase */
static atomic_ulong phase_requests[NPHASES];
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000000UL + (unsigned long)ts.tv_nsec / 1000;
}

/* failure(...) - count one failure and say what it was (the first 20). */
static void failure(int conn, const char *fmt, ...)
{
	unsigned long n = atomic_fetch_add(&failures, 1) + 1;
	va_list ap;

	if (n > 20)
		return;
	pthread_mutex_lock(&report_lock);
	fprintf(stderr, "mcload: connection %d: ", conn);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&report_lock);
}

/* One connection: its socket and a buffer of received, unread bytes. */
struct conn {
	int id, fd;
	char buf[8192];
	size_t len, off;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1;

	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->len = c->off = 0;
	return 0;
}

static int conn_send(struct conn *c, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* conn_line - the next reply line without its CR LF, or NULL (timeout, EOF). */
static char *conn_line(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);

		if (nl) {
			char *line = c->buf + c->off;

			*nl = '\0';
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			c->off = (size_t)(nl - c->buf) + 1;
			return line;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf) - 1)
			return NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, REPLY_TIMEOUT_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static void latency(int ph, unsigned long t0)
{
	unsigned long d = now_us() - t0, old = atomic_load(&max_latency_us[ph]);

	while (d > old && !atomic_compare_exchange_weak(&max_latency_us[ph], &old, d))
		;
	atomic_fetch_add(&requests, 1);
	atomic_fetch_add(&phase_requests[ph], 1);
}

/* version_check - is REPLY right for a request sent in phase PH?  Counts it. */
static int version_check(int ph, const char *reply)
{
	size_t vl = strlen(version);
	unsigned long n;
	int end = 0;

	if (strncmp(reply, "VERSION ", 8) != 0 || strncmp(reply + 8, version, vl) != 0)
		return 0;
	reply += 8 + vl;
	if (*reply == '\0') {
		if (ph == 2)
			return 0;
		atomic_fetch_add(&version_seen[ph][0], 1);
		return 1;
	}
	if (sscanf(reply, " (live-patched, %lu requests)%n", &n, &end) != 1 || end == 0 ||
	    reply[end] != '\0' || n == 0)
		return 0;
	if (ph == 0 || ph == 4)
		return 0;
	atomic_fetch_add(&version_seen[ph][1], 1);
	return 1;
}

/* One round: set, get, version; 0 on success, -1 after a failure. */
static int round_run(struct conn *c, unsigned long round)
{
	char req[512], val[200], want[128], *line;
	int vlen = 1 + (int)(round * 7 % 150), ph;
	unsigned long t0;

	for (int i = 0; i < vlen; i++)
		val[i] = (char)('a' + (round + (unsigned long)i * 31 + (unsigned long)c->id) % 26);
	val[vlen] = '\0';

	ph = atomic_load(&phase);
	t0 = now_us();
	int n = snprintf(req, sizeof(req), "set k%d 0 0 %d\r\n%s\r\n", c->id, vlen, val);
	if (conn_send(c, req, (size_t)n) != 0 || !(line = conn_line(c))) {
		failure(c->id, "round %lu: set: no reply (connection lost or 5 s timeout)", round);
		return -1;
	}
	if (strcmp(line, "STORED") != 0) {
		failure(c->id, "round %lu: set: '%s' instead of STORED", round, line);
		return -1;
	}
	latency(ph, t0);

	ph = atomic_load(&phase);
	t0 = now_us();
	n = snprintf(req, sizeof(req), "get k%d\r\n", c->id);
	snprintf(want, sizeof(want), "VALUE k%d 0 %d", c->id, vlen);
	if (conn_send(c, req, (size_t)n) != 0 || !(line = conn_line(c))) {
		failure(c->id, "round %lu: get: no reply", round);
		return -1;
	}
	if (strcmp(line, want) != 0) {
		failure(c->id, "round %lu: get: '%s' instead of '%s'", round, line, want);
		return -1;
	}
	if (!(line = conn_line(c)) || strcmp(line, val) != 0) {
		failure(c->id, "round %lu: get: wrong value '%s'", round, line ? line : "(none)");
		return -1;
	}
	if (!(line = conn_line(c)) || strcmp(line, "END") != 0) {
		failure(c->id, "round %lu: get: '%s' instead of END", round, line ? line : "(none)");
		return -1;
	}
	latency(ph, t0);

	ph = atomic_load(&phase);
	t0 = now_us();
	if (conn_send(c, "version\r\n", 9) != 0 || !(line = conn_line(c))) {
		failure(c->id, "round %lu: version: no reply", round);
		return -1;
	}
	if (!version_check(ph, line)) {
		failure(c->id, "round %lu: version in phase %d: unexpected '%s'", round, ph, line);
		return -1;
	}
	latency(ph, t0);
	return 0;
}

static void *conn_run(void *arg)
{
	struct conn *c = arg;
	unsigned long round = 0;

	while (!atomic_load(&stopping)) {
		if (c->fd < 0 && conn_open(c) != 0) {
			failure(c->id, "cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
			sleep(1);
			continue;
		}
		if (round_run(c, round++) != 0) {
			/* start again on a new connection: the old one is out of step */
			close(c->fd);
			c->fd = -1;
		}
	}
	if (c->fd >= 0)
		close(c->fd);
	return NULL;
}

static void status_write(FILE *f)
{
	fprintf(f, "phase=%d requests=%lu failures=%lu", atomic_load(&phase),
		atomic_load(&requests), atomic_load(&failures));
	for (int p = 0; p < NPHASES; p++)
		fprintf(f, " p%d_requests=%lu p%d_original=%lu p%d_patched=%lu p%d_max_latency_us=%lu",
			p, atomic_load(&phase_requests[p]), p, atomic_load(&version_seen[p][0]),
			p, atomic_load(&version_seen[p][1]), p, atomic_load(&max_latency_us[p]));
	fputc('\n', f);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
		perror("mcload: bind 127.0.0.1:0");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: mcload -p PORT -V VERSION [-c CONNS] [-s STATUS_FILE]\n"
			"       mcload --free-port\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	pthread_t tids[MAX_CONNS];
	const char *status = NULL;
	int nconns = 8, opt, sig;
	sigset_t set;

	if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
		return free_port();
	while ((opt = getopt(argc, argv, "p:V:c:s:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'V': version = optarg; break;
		case 'c': nconns = atoi(optarg); break;
		case 's': status = optarg; break;
		default: usage();
		}
	}
	if (port <= 0 || !version || nconns < 1 || nconns > MAX_CONNS || optind != argc)
		usage();

	/* Signals are taken by sigtimedwait in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (int i = 0; i < nconns; i++) {
		conns[i].id = i;
		conns[i].fd = -1;
		if (pthread_create(&tids[i], NULL, conn_run, &conns[i]) != 0) {
			fprintf(stderr, "mcload: pthread_create failed\n");
			return 1;
		}
	}
	for (;;) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGUSR1 && atomic_load(&phase) < NPHASES - 1)
			atomic_fetch_add(&phase, 1);
		if (status) {
			char tmp[4096];
			FILE *f;

			snprintf(tmp, sizeof(tmp), "%s.tmp", status);
			f = fopen(tmp, "w");
			if (f) {
				status_write(f);
				fclose(f);
				rename(tmp, status);
			}
		}
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	atomic_store(&stopping, 1);
	for (int i = 0; i < nconns; i++)
		pthread_join(tids[i], NULL);
	status_write(stdout);
	if (atomic_load(&failures) != 0)
		return 1;
	if (atomic_load(&version_seen[0][0]) == 0 || atomic_load(&version_seen[2][1]) == 0 ||
	    atomic_load(&version_seen[4][0]) == 0) {
		fprintf(stderr, "mcload: the original and patched replies were not all seen "
				"(phases 0, 2, 4)\n");
		return 1;
	}
	return 0;
}
