// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark workloads; each prints the mean nanoseconds per operation of
 * its measured loop on stdout:
 *   workload getppid N        N getppid() calls (the syscall path)
 *   workload pingpong N       N round trips of a byte between two processes
 *                             over pipes, both pinned to CPU 0 (context switches)
 *   workload read-zero N      N 1-byte read()s from /dev/zero (the read path)
 *   workload read-file PATH N N 1-byte read()s of a cached regular file (rewound
 *                             at its end, so make it large)
 *   workload signal N         N SIGUSR1 sent to itself, ignored (the signal
 *                             generation path, no delivery)
 *   workload fork N           N children forked, each exits at once and is
 *                             waited for (a process's whole lifecycle)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void pin_cpu0(void)
{
	cpu_set_t cpu0;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
}

static double getppid_loop(long n)
{
	double start = now_ns();

	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return (now_ns() - start) / n;
}

static double pingpong(long n)
{
	int there[2], back[2];
	double start;
	char byte = 0;
	pid_t child;

	if (pipe(there) || pipe(back))
		exit(1);
	pin_cpu0();
	child = fork();
	if (child == 0) {
		for (long i = 0; i < n; i++)
			if (read(there[0], &byte, 1) != 1 || write(back[1], &byte, 1) != 1)
				_exit(1);
		_exit(0);
	}
	start = now_ns();
	for (long i = 0; i < n; i++)
		if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1)
			exit(1);
	start = (now_ns() - start) / n;
	waitpid(child, NULL, 0);
	return start;
}

static double read_loop(const char *path, long n)
{
	int fd = open(path, O_RDONLY);
	double start;
	char byte;

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	start = now_ns();
	for (long i = 0; i < n; i++) {
		ssize_t got = read(fd, &byte, 1);

		if (got == 0 && lseek(fd, 0, SEEK_SET) == 0)	/* a file's end: rare */
			continue;
		if (got != 1)
			exit(1);
	}
	start = (now_ns() - start) / n;
	close(fd);
	return start;
}

static double signal_loop(long n)
{
	pid_t self = getpid();
	double start;

	signal(SIGUSR1, SIG_IGN);
	start = now_ns();
	for (long i = 0; i < n; i++)
		kill(self, SIGUSR1);
	return (now_ns() - start) / n;
}

static double fork_loop(long n)
{
	double start = now_ns();

	for (long i = 0; i < n; i++) {
		pid_t child = fork();

		if (child == 0)
			_exit(0);
		if (child < 0 || waitpid(child, NULL, 0) != child)
			exit(1);
	}
	return (now_ns() - start) / n;
}

int main(int argc, char **argv)
{
	long n = atol(argv[argc - 1]);
	double ns;

	if (argc < 3 || n <= 0)
		goto usage;
	if (!strcmp(argv[1], "getppid"))
		ns = getppid_loop(n);
	else if (!strcmp(argv[1], "pingpong"))
		ns = pingpong(n);
	else if (!strcmp(argv[1], "read-zero"))
		ns = read_loop("/dev/zero", n);
	else if (!strcmp(argv[1], "read-file") && argc == 4)
		ns = read_loop(argv[2], n);
	else if (!strcmp(argv[1], "signal"))
		ns = signal_loop(n);
	else if (!strcmp(argv[1], "fork"))
		ns = fork_loop(n);
	else
		goto usage;
	printf("%.1f\n", ns);
	return 0;
usage:
	fprintf(stderr, "usage: workload getppid|pingpong|read-zero|signal|fork N | read-file PATH N\n");
	return 2;
}
