// SPDX-License-Identifier: GPL-2.0
/*
 * Workloads the shell tests point collectors at:
 *   workload burst N     on each SIGUSR1, N getppid() calls, then appends a
 *                        line to the file named by $WORKLOAD_DONE; SIGTERM ends
 *   workload busy S      getppid() and 100-byte reads of /proc/self/stat in a
 *                        loop for S seconds
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t requested, stop;

static void on_signal(int signal_number)
{
	if (signal_number == SIGUSR1)
		requested++;
	else
		stop = 1;
}

static int burst(long calls)
{
	const char *done = getenv("WORKLOAD_DONE");
	sigset_t all, none;

	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	sigemptyset(&all);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGTERM);
	sigprocmask(SIG_BLOCK, &all, &none);
	while (!stop) {
		sigsuspend(&none);
		while (requested && !stop) {
			requested--;
			for (long i = 0; i < calls; i++)
				syscall(SYS_getppid);
			if (done) {
				FILE *f = fopen(done, "a");

				if (f) {
					fputs("done\n", f);
					fclose(f);
				}
			}
		}
	}
	return 0;
}

static int busy(long seconds)
{
	time_t end = time(NULL) + seconds;
	char buf[100];
	int fd = open("/proc/self/stat", O_RDONLY);

	if (fd < 0)
		return 1;
	while (time(NULL) < end) {
		for (int i = 0; i < 1000; i++)
			syscall(SYS_getppid);
		for (int i = 0; i < 100; i++)
			if (pread(fd, buf, sizeof(buf), 0) < 0)
				return 1;
		usleep(1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc == 3 ? strtol(argv[2], NULL, 10) : -1;

	if (argc == 3 && !strcmp(argv[1], "burst") && n > 0)
		return burst(n);
	if (argc == 3 && !strcmp(argv[1], "busy") && n > 0)
		return busy(n);
	fprintf(stderr, "usage: workload burst CALLS | workload busy SECONDS\n");
	return 2;
}
