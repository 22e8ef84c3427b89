/*
 * logsink.c: a syslog socket for tests. Binds a datagram socket at PATH
 * (the tests bind-mount it onto /dev/log in their mount namespace) and
 * appends every message received to FILE, one per line, unbuffered, so a
 * test can read what the module logged while it runs. Runs until killed.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	char msg[8192];
	ssize_t n;
	int s, fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: logsink SOCKET FILE\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	(void)unlink(argv[1]);
	if ((s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(argv[1], 0666) != 0) {
		perror(argv[1]);
		return 1;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	for (;;) {
		if ((n = recv(s, msg, sizeof(msg) - 1, 0)) <= 0)
			continue;
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\0'))
			n--;
		msg[n++] = '\n';
		if (write(fd, msg, (size_t)n) != n)
			perror(argv[2]);
	}
}
