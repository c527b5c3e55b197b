/* sender PID STOPFILE - sends SIGRTMIN, SIGRTMIN+1 and SIGRTMIN+5 to PID in
 * turn until STOPFILE exists, by kill(2), sigqueue(3) and tgkill(2) to each
 * of its threads in turn, about 20 every millisecond; a signal the kernel
 * refuses for a full queue (EAGAIN) is sent again a little later.  Prints
 * "sent A B C": how many of each the kernel took. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const int offs[3] = { 0, 1, 5 };

static int read_tids(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *de;
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < max)
		if (atoi(de->d_name) > 0)
			tids[n++] = atoi(de->d_name);
	closedir(d);
	return n;
}

static void nap(long ns)
{
	struct timespec ts = { 0, ns };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sender PID STOPFILE\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]), tids[64];
	unsigned long sent[3] = { 0, 0, 0 }, again = 0;
	int ntids = read_tids(pid, tids, 64);
	if (ntids == 0) {
		fprintf(stderr, "sender: no process %d\n", (int)pid);
		return 1;
	}
	for (unsigned long i = 0;; i++) {
		if (i % 64 == 0 && access(argv[2], F_OK) == 0)
			break;
		int k = (int)(i % 3), sig = SIGRTMIN + offs[k], r;
		switch ((i / 3) % 3) {
		case 0:
			r = kill(pid, sig);
			break;
		case 1:
			r = sigqueue(pid, sig, (union sigval){ .sival_int = (int)i });
			break;
		default:
			r = (int)syscall(SYS_tgkill, (int)pid, (int)tids[(i / 9) % ntids], sig);
			break;
		}
		if (r != 0 && errno == EAGAIN) {
			again++;
			nap(1000000);
			i--;    /* the same signal, the same way */
			continue;
		}
		if (r != 0) {
			fprintf(stderr, "sender: signal %d to %d: %m\n", sig, (int)pid);
			return 1;
		}
		sent[k]++;
		if (i % 20 == 19)
			nap(1000000);
	}
	printf("sent %lu %lu %lu\n", sent[0], sent[1], sent[2]);
	fprintf(stderr, "sender: %lu refused for a full queue, sent again\n", again);
	return 0;
}
