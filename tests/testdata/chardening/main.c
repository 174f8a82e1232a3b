// chardening is the guest of tests/hardening_test.go: a guest that
// overstays, guests that try to make the monitor's buffers grow, and a
// writer of acknowledged records for the crash tests.
//
//	chardening sleep          sleep forever (--timeout must stop it)
//	chardening stdin          read stdin to its end
//	chardening pipe           fill 32 pipes set to 256 MiB each
//	chardening unix           fill unix socket queues with tiny messages
//	chardening tcp            fill a loopback TCP connection nobody reads
//	chardening tmpfs DIR      fill DIR with data, files and xattrs
//	chardening memfd          fill a memfd, a sparse one through
//	                          sendfile into itself, and a plain one
//	chardening statfs DIR     print DIR's size as statfs reports it
//	chardening durable FILE   print "found N" (the whole records FILE
//	                          has), then append numbered 64-byte records,
//	                          fsync each and print "acked N"; forever
//
// The fill modes print "NAME VALUE" lines: how much went in, and the
// errno that stopped it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *errname(int e) {
	switch (e) {
	case 0: return "ok";
	case EAGAIN: return "EAGAIN";
	case ENOBUFS: return "ENOBUFS";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case EMFILE: return "EMFILE";
	case EFBIG: return "EFBIG";
	case EDQUOT: return "EDQUOT";
	case E2BIG: return "E2BIG";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

static char chunk[1 << 20];

static void fill_pipes(void) {
	long long total = 0;
	int err = 0, size = 0, pipes = 0;
	for (int i = 0; i < 32; i++) {
		int p[2];
		if (pipe2(p, O_NONBLOCK) < 0) {
			err = errno;
			break;
		}
		pipes++;
		size = fcntl(p[1], F_SETPIPE_SZ, 256 << 20); // root may: 256 MiB
		for (;;) {
			ssize_t n = write(p[1], chunk, sizeof chunk);
			if (n < 0) {
				err = errno;
				break;
			}
			total += n;
		}
	}
	printf("pipe_size %d\npipes %d\npipe_bytes %lld\npipe_stop %s\n", size, pipes, total, errname(err));
}

static int fill_socket(int fd, const void *msg, size_t len) {
	int n = 0;
	while (n < 10000000 && send(fd, msg, len, MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

static void fill_unix(void) {
	struct { const char *name; int type; size_t len; } cases[] = {
		{"seqpacket_empty", SOCK_SEQPACKET, 0},
		{"seqpacket_byte", SOCK_SEQPACKET, 1},
		{"stream_byte", SOCK_STREAM, 1},
		{"dgram_empty", SOCK_DGRAM, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, cases[i].type, 0, sv) < 0) {
			printf("unix_%s_error %s\n", cases[i].name, errname(errno));
			continue;
		}
		int n = fill_socket(sv[0], "x", cases[i].len);
		printf("unix_%s %d\nunix_%s_stop %s\n", cases[i].name, n, cases[i].name, errname(errno));
		close(sv[0]);
		close(sv[1]);
	}
}

static void fill_tcp(void) {
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (bind(l, (void *)&a, sizeof a) < 0 || listen(l, 1) < 0 || getsockname(l, (void *)&a, &al) < 0) {
		printf("tcp_error %s\n", errname(errno));
		return;
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof a) < 0) {
		printf("tcp_error %s\n", errname(errno));
		return;
	}
	int s = accept(l, 0, 0); // never read
	int big = 1 << 30;
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	int snd = 0, rcv = 0;
	socklen_t ol = sizeof snd;
	getsockopt(c, SOL_SOCKET, SO_SNDBUF, &snd, &ol);
	ol = sizeof rcv;
	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, &ol);
	long long total = 0;
	int idle = 0, err = 0;
	// The stack moves data from the send to the receive buffer in the
	// background: stop after 20 consecutive EAGAINs 10 ms apart.
	while (idle < 20) {
		ssize_t n = send(c, chunk, sizeof chunk, MSG_DONTWAIT);
		if (n < 0) {
			err = errno;
			idle++;
			usleep(10000);
			continue;
		}
		idle = 0;
		total += n;
	}
	printf("tcp_sndbuf %d\ntcp_rcvbuf %d\ntcp_bytes %lld\ntcp_stop %s\n", snd, rcv, total, errname(err));
}

static void fill_tmpfs(const char *dir) {
	char path[4096];
	snprintf(path, sizeof path, "%s/data", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	long long total = 0;
	int err = 0;
	for (;;) {
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			break;
		}
		total += n;
	}
	close(fd);
	printf("tmpfs_bytes %lld\ntmpfs_stop %s\n", total, errname(err));
	unlink(path); // room for the next fills

	snprintf(path, sizeof path, "%s/x", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	long long xbytes = 0;
	for (int i = 0;; i++) {
		char name[64];
		snprintf(name, sizeof name, "user.attr%d", i);
		if (setxattr(path, name, chunk, 65536, 0) < 0) {
			err = errno;
			break;
		}
		xbytes += 65536;
	}
	printf("xattr_bytes %lld\nxattr_stop %s\n", xbytes, errname(err));
	unlink(path);

	int files = 0;
	for (;; files++) {
		snprintf(path, sizeof path, "%s/f%d", dir, files);
		fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		close(fd);
	}
	printf("files %d\nfiles_stop %s\n", files, errname(err));
}

static void durable(const char *file) {
	int fd = open(file, O_CREAT | O_WRONLY | O_APPEND, 0644);
	if (fd < 0) {
		perror(file);
		exit(1);
	}
	struct stat st;
	fstat(fd, &st);
	long found = st.st_size / 64;
	printf("found %ld\n", found); // whole records already there
	for (long n = found + 1;; n++) {
		char rec[64];
		memset(rec, '.', sizeof rec);
		int k = snprintf(rec, sizeof rec, "record %ld", n);
		rec[k] = ' ';
		rec[63] = '\n';
		if (write(fd, rec, sizeof rec) != sizeof rec || fsync(fd) < 0) {
			perror("write");
			exit(1);
		}
		char line[64];
		k = snprintf(line, sizeof line, "acked %ld\n", n);
		if (write(1, line, k) != k)
			exit(1);
	}
}

// fill_memfd: a memfd's data is the monitor's memory, bounded by the
// guest's. First the way guestfuzz found (seed 114: the monitor grew to
// 24 GiB): a sparse 1 TiB memfd sent into itself, a MAX_RW_COUNT (2 GiB)
// at a time; then plain writes.
static void fill_memfd(void) {
	int fd = memfd_create("fill", 0);
	ftruncate(fd, 1LL << 40);
	long long sent = 0;
	int err = 0;
	for (int i = 0; i < 4; i++) {
		ssize_t n = sendfile(fd, fd, NULL, 1L << 31);
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			break;
		}
		sent += n;
	}
	printf("memfd_sendfile_bytes %lld\nmemfd_sendfile_stop %s\n", sent, errname(err));
	close(fd);
	fd = memfd_create("fill", 0);
	long long total = 0;
	for (;;) {
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			break;
		}
		total += n;
	}
	printf("memfd_bytes %lld\nmemfd_stop %s\n", total, errname(err));
	close(fd);
}

int main(int argc, char **argv) {
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc < 2)
		return 2;
	memset(chunk, 'c', sizeof chunk);
	if (!strcmp(argv[1], "sleep")) {
		for (;;)
			pause();
	} else if (!strcmp(argv[1], "stdin")) {
		while (read(0, chunk, sizeof chunk) > 0)
			;
	} else if (!strcmp(argv[1], "pipe")) {
		fill_pipes();
	} else if (!strcmp(argv[1], "unix")) {
		fill_unix();
	} else if (!strcmp(argv[1], "tcp")) {
		fill_tcp();
	} else if (!strcmp(argv[1], "tmpfs") && argc > 2) {
		fill_tmpfs(argv[2]);
	} else if (!strcmp(argv[1], "memfd")) {
		fill_memfd();
	} else if (!strcmp(argv[1], "statfs") && argc > 2) {
		struct statfs sf;
		if (statfs(argv[2], &sf) < 0) {
			perror(argv[2]);
			return 1;
		}
		printf("statfs_bytes %lld\n", (long long)sf.f_blocks * sf.f_bsize);
	} else if (!strcmp(argv[1], "durable") && argc > 2) {
		durable(argv[2]);
	} else {
		return 2;
	}
	return 0;
}
