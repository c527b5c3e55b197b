/*
 * status.c - `libcare-doctor status [--json]`: what the running
 * `libcare-doctor server` knows (patches, and processes patched, pending
 * or refused with the reason), asked over its root-only unix socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

const char *lc_server_socket(const char *opt)
{
	const char *env = getenv("LIBCARE_SERVER_SOCKET");
	if (opt && *opt)
		return opt;
	return env && *env ? env : LC_SERVER_SOCKET;
}

static void status_usage(FILE *f)
{
	fprintf(f, "usage: libcare-doctor status [--json] [--socket PATH]\n"
		"\n"
		"Asks the running libcare-doctor server what it knows: the patches of its\n"
		"directory, and each process with a patched object: patched (with the stop\n"
		"time), pending or refused (with the reason).  Root only.\n"
		"\n"
		"  -j, --json        one JSON document\n"
		"  -s, --socket PATH the server's socket (default %s,\n"
		"                    or $LIBCARE_SERVER_SOCKET)\n"
		"  -h, --help        this text\n", LC_SERVER_SOCKET);
}

int lc_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c, json = 0;
	const char *path = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hjs:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': status_usage(stdout); return 0;
		case 'j': json = 1; break;
		case 's': path = optarg; break;
		case ':':
			lc_error("status: option '%s' needs a value (see libcare-doctor status --help)",
				 argv[optind - 1]);
			return 1;
		default:
			lc_error("status: bad option '%s' (see libcare-doctor status --help)",
				 argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		lc_error("status: too many arguments (see libcare-doctor status --help)");
		return 1;
	}
	path = lc_server_socket(path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		lc_error("status: socket path %s is too long", path);
		return 1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		lc_error("status: no libcare-doctor server answers on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	const char *req = json ? "status json\n" : "status\n";
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		lc_error("status: cannot ask the server on %s: %s", path, strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	char buf[8192];
	ssize_t n;
	int first = 1, refused = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 7 && memcmp(buf, "error: ", 7) == 0)
			refused = 1;
		first = 0;
		fwrite(buf, 1, (size_t)n, refused ? stderr : stdout);
	}
	close(fd);
	if (first) {
		lc_error("status: the server on %s closed the connection without an answer", path);
		return 1;
	}
	return refused ? 1 : 0;
}
