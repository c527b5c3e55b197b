/*
 * server.c - "notes", a small multi-threaded TCP server with a real
 * memory-safety bug, for the LibCare demo (README.md beside this file).
 *
 * One thread per connection speaks a line protocol on 127.0.0.1:
 *   HELLO NAME     -> "OK hello NAME"          (remember who we talk to)
 *   WHO            -> "OK you are NAME"
 *   PING           -> "PONG"
 *   LOGIN PASSWORD -> "OK admin" or "ERR wrong password"
 *   SECRET         -> "OK secret: ..."        (admins only)
 *   QUIT           -> "BYE"
 *
 * The bug: session_set_name() copies the name into a 16-byte field without
 * checking its length, and the field just after it is the session's
 * `admin` flag.  "HELLO " followed by 17 characters sets that flag, and the
 * connection may then read the secret without the password.  fix.diff adds
 * the bounds check; scripts/demo applies it to the running server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NAME_MAX_LEN 16
#define LINE_MAX_LEN 256

static const char secret[] = "the launch code is 0000";
static const char *admin_password = "correct horse battery staple";

/* One connection's state; it lives on the connection thread's stack. */
struct session {
	char name[NAME_MAX_LEN];
	unsigned admin;            /* set by LOGIN with the right password only */
	char line[LINE_MAX_LEN];   /* the request being served */
};

static void session_reply(int fd, const char *fmt, const char *arg)
{
	char out[LINE_MAX_LEN + 64];
	int n = snprintf(out, sizeof(out), fmt, arg);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out))
		n = sizeof(out) - 1;
	(void)!write(fd, out, n);
}

/*
 * HELLO NAME.  The copy runs to the end of the word, whatever its length:
 * a name longer than 15 characters runs over name[] into `admin`.
 * noipa (not inlined, and callers assume nothing about its body, such as
 * "always returns 0"): the connection loop never returns, so a live fix
 * must be in a function it calls, and the callers must honour the new body.
 */
__attribute__((noipa)) int session_set_name(struct session *s, const char *word)
{
	size_t i;

	for (i = 0; word[i] != '\0' && word[i] != ' '; i++)
		s->name[i] = word[i];
	s->name[i] = '\0';
	return 0;
}

/* Serve one request line; returns 0 to go on, -1 to close the connection. */
__attribute__((noipa)) static int session_serve(struct session *s, int fd)
{
	char *line = s->line;

	if (strncmp(line, "HELLO ", 6) == 0) {
		if (session_set_name(s, line + 6) != 0) {
			session_reply(fd, "ERR name too long (at most %s characters)\n", "15");
			return 0;
		}
		session_reply(fd, "OK hello %s\n", s->name);
	} else if (strcmp(line, "WHO") == 0) {
		session_reply(fd, "OK you are %s\n", s->name[0] ? s->name : "nobody");
	} else if (strcmp(line, "PING") == 0) {
		session_reply(fd, "%s\n", "PONG");
	} else if (strncmp(line, "LOGIN ", 6) == 0) {
		s->admin = strcmp(line + 6, admin_password) == 0;
		session_reply(fd, "%s\n", s->admin ? "OK admin" : "ERR wrong password");
	} else if (strcmp(line, "SECRET") == 0) {
		if (s->admin)
			session_reply(fd, "OK secret: %s\n", secret);
		else
			session_reply(fd, "%s\n", "ERR not authorised");
	} else if (strcmp(line, "QUIT") == 0) {
		session_reply(fd, "%s\n", "BYE");
		return -1;
	} else {
		session_reply(fd, "ERR unknown command '%s'\n", line);
	}
	return 0;
}

/* The connection thread: read lines (CR LF or LF) and serve each. */
static void *connection_run(void *arg)
{
	int fd = (int)(long)arg;
	struct session s;
	char buf[LINE_MAX_LEN];
	size_t len = 0;
	int overlong = 0;

	memset(&s, 0, sizeof(s));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t k = 0; k < n; k++) {
			char c = buf[k];

			if (c != '\n') {
				if (c == '\r')
					continue;
				if (len + 1 < sizeof(s.line))
					s.line[len++] = c;
				else
					overlong = 1;
				continue;
			}
			s.line[len] = '\0';
			if (overlong)
				session_reply(fd, "%s\n", "ERR line too long");
			else if (session_serve(&s, fd) != 0)
				goto out;
			len = 0;
			overlong = 0;
		}
	}
out:
	close(fd);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: vuln-server [-p PORT]   (PORT 0: any free port)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	int port = 0, lfd, one = 1, opt;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p')
			usage();
		port = atoi(optarg);
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0) {
		perror("vuln-server: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)port);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
		fprintf(stderr, "vuln-server: 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("vuln-server: accept");
			return 1;
		}
		if (pthread_create(&t, NULL, connection_run, (void *)(long)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}
