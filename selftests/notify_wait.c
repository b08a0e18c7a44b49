// SPDX-License-Identifier: GPL-2.0
/*
 * Plays systemd's side of sd_notify for the daemon tests:
 *   notify_wait TIMEOUT_MS LOG COMMAND...
 * runs COMMAND (output appended to LOG) with NOTIFY_SOCKET pointing at a
 * socket of its own, waits for READY=1, prints "ready PID MS" (the
 * command's pid and the milliseconds it took) and exits 0 leaving the
 * command running. If the command exits first it prints "exited STATUS",
 * if the time runs out "timeout"; both exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	long timeout, start;
	char buf[4096];
	pid_t child;
	int fd, status;

	if (argc < 4 || (timeout = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: notify_wait TIMEOUT_MS LOG COMMAND...\n");
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/khist-notify-%d", getpid());
	unlink(addr.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("notify_wait: socket");
		return 1;
	}
	setenv("NOTIFY_SOCKET", addr.sun_path, 1);
	start = now_ms();
	child = fork();
	if (child == 0) {
		int log = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		execvp(argv[3], argv + 3);
		perror("notify_wait: exec");
		_exit(127);
	}
	while (now_ms() - start < timeout) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t len;

		if (waitpid(child, &status, WNOHANG) == child) {
			printf("exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			unlink(addr.sun_path);
			return 1;
		}
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		len = recv(fd, buf, sizeof(buf) - 1, 0);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (strstr(buf, "READY=1")) {
			printf("ready %d %ld\n", child, now_ms() - start);
			fflush(stdout);
			unlink(addr.sun_path);
			return 0;
		}
	}
	printf("timeout\n");
	unlink(addr.sun_path);
	return 1;
}
