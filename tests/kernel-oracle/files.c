/*
 * A real program's descriptor and file calls, for FileLayerReplayTests: created files (O_CREAT, O_EXCL, reopen,
 * ftruncate, unlink), the dup family, close_range, /proc/self/fd/N reopens (a memfd, a pipe, a socket),
 * a file named through a symbolic link, mincore's vector, names made without a descriptor (a FIFO by mknod, a UNIX
 * socket bound to a path), names shared and moved (link, rename, renameat2, as sem_open does), a directory
 * made and removed (mkdir, rmdir) and a thread's own /proc/self/task/TID directory. It ends by copying /proc/self/maps to argv[2], with raw
 * system calls only, so that the copy is the address space at exit.
 *
 *   files DIR MAPSCOPY
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static char path[4096], node[4096], node2[8192], fdpath[64], buf[1 << 16];

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	snprintf(path, sizeof(path), "%s/created", argv[1]);

	int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	open(path, O_CREAT | O_EXCL | O_RDWR, 0600);          /* EEXIST */
	int ro = open(path, O_RDONLY);                        /* the private layer's file opens again */
	ftruncate(fd, 3 * 4096);
	ftruncate(ro, 0);                                     /* EINVAL: not open for writing */
	/* Pages are made resident by calls, not by touching them: a replay sees only what strace shows. */
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	madvise(p, 4096, MADV_POPULATE_WRITE);
	madvise(p + 2 * 4096, 4096, MADV_POPULATE_WRITE);
	unsigned char vec[64];
	char *anon = mmap(NULL, 40 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(anon, 4096, MADV_POPULATE_WRITE);
	madvise(anon + 33 * 4096, 4096, MADV_POPULATE_WRITE);
	mincore(anon, 40 * 4096, vec);                        /* cut after 32 elements by strace */
	unlink(path);
	open(path, O_RDONLY);                                 /* ENOENT */
	unlink(path);                                         /* ENOENT */

	int d = dup(fd);
	dup2(fd, 10);
	fcntl(fd, F_DUPFD, 20);
	dup3(fd, 10, 0);                                      /* replaces 10 */
	dup3(fd, fd, 0);                                      /* EINVAL */
	dup2(99, 11);                                         /* EBADF */
	mmap(NULL, 4096, PROT_READ, MAP_SHARED, 20, 4096);    /* through a duplicate */
	close_range(d, 25, 0);
	close(10);                                            /* EBADF: closed by close_range */

	int m = memfd_create("mapwright", 0);
	ftruncate(m, 2 * 4096);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", m);
	int again = open(fdpath, O_RDWR);
	char *q = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, again, 0);
	madvise(q + 4096, 4096, MADV_POPULATE_WRITE);
	mincore(q, 2 * 4096, vec);                            /* shmem: no readahead */
	open("/proc/self/fd/99", O_RDONLY);                   /* ENOENT */
	int pipes[2];
	pipe2(pipes, 0);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", pipes[0]);
	open(fdpath, O_RDONLY | O_NONBLOCK);                  /* a pipe opens again */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", s);
	open(fdpath, O_RDONLY);                               /* ENXIO */

	/* Names made by calls that open nothing: a FIFO, a socket bound to a path; then unlinked. */
	snprintf(node, sizeof(node), "%s/fifo", argv[1]);
	mknodat(AT_FDCWD, node, S_IFIFO | 0600, 0);
	mknodat(AT_FDCWD, node, S_IFIFO | 0600, 0);           /* EEXIST */
	mknodat(AT_FDCWD, "/proc/self/fifo", S_IFIFO | 0600, 0); /* ENOENT: procfs has no such name to make */
	mknodat(AT_FDCWD, "/etc/hostname/fifo", S_IFIFO | 0600, 0); /* ENOTDIR */
	syscall(SYS_mknod, node, S_IFDIR | 0700, 0);           /* EPERM: mkdir makes directories */
	int fifo = open(node, O_RDWR | O_NONBLOCK);           /* both ends: does not block */
	mmap(NULL, 4096, PROT_READ, MAP_SHARED, fifo, 0);      /* ENODEV */
	unlink(node);
	unlink(node);                                          /* ENOENT */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", argv[1]);
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(s2, (struct sockaddr *)&sa, sizeof(sa));          /* EADDRINUSE */
	bind(fifo, (struct sockaddr *)&sa, sizeof(sa));        /* ENOTSOCK */
	open(sa.sun_path, O_RDONLY);                           /* ENXIO: a socket does not open */
	unlink(sa.sun_path);
	/* Names shared and moved: a file made under one name, linked to its final one, the first unlinked. */
	snprintf(node, sizeof(node), "%s/tmp", argv[1]);
	snprintf(node2, sizeof(node2), "%s/final", argv[1]);
	int t = open(node, O_RDWR | O_CREAT | O_EXCL, 0600);
	link(node, node2);
	link(node, node2);                                     /* EEXIST */
	link("/proc/self/maps", node2);                        /* EEXIST: the new name first */
	unlink(node2);
	link("/proc/self/maps", node2);                        /* EXDEV */
	link(node, node2);
	unlink(node);
	rename(node2, node);                                   /* back to the first name */
	open(node2, O_RDONLY);                                 /* ENOENT: moved away */
	syscall(SYS_renameat2, AT_FDCWD, node, AT_FDCWD, node2, RENAME_NOREPLACE);
	int u = open(node, O_RDWR | O_CREAT | O_EXCL, 0600);   /* the first name is free again */
	syscall(SYS_renameat2, AT_FDCWD, node, AT_FDCWD, node2, RENAME_NOREPLACE); /* EEXIST */
	syscall(SYS_renameat2, AT_FDCWD, node, AT_FDCWD, node2, RENAME_EXCHANGE);
	rename(node, node2);                                   /* replaces the other file */
	rename(node, node2);                                   /* ENOENT */
	snprintf(node, sizeof(node), "%s/sub", argv[1]);
	mkdir(node, 0700);
	rename(node2, node);                                   /* EISDIR: a file onto a directory */
	renameat(AT_FDCWD, node2, AT_FDCWD, "/proc/self/x");   /* EXDEV: mounts before names */
	unlink(node2);
	mkdir(node, 0700);                                     /* EEXIST */
	snprintf(node2, sizeof(node2), "%s/inner", node);
	mknodat(AT_FDCWD, node2, S_IFIFO | 0600, 0);           /* a name in the new directory */
	rmdir(node);                                           /* ENOTEMPTY */
	unlink(node);                                          /* EISDIR */
	unlink(node2);
	rmdir(node);
	rmdir(node);                                           /* ENOENT */
	snprintf(node, sizeof(node), "%s/.", argv[1]);
	rmdir(node);                                           /* EINVAL */
	snprintf(node, sizeof(node), "%s", argv[1]);
	*strrchr(node, '/') = 0;
	rmdir(node);                                           /* ENOTEMPTY: the test's own directory */
	close(t);
	close(u);

	snprintf(node, sizeof(node), "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
	close(open(node, O_RDWR));                             /* the thread's own directory */

	int lib = open("/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
	mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, lib, 0);     /* maps names it by its resolved path */

	int in = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY);
	int out = (int)syscall(SYS_openat, AT_FDCWD, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	long n;
	while ((n = syscall(SYS_read, in, buf, sizeof(buf))) > 0)
		syscall(SYS_write, out, buf, n);
	syscall(SYS_exit_group, 0);
	return 0;
}
