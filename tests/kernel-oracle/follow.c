/*
 * A real program for FollowAddressesReplayTests, run with address randomisation ON: its hint-less mmaps (small,
 * 2 MiB-multiple anonymous ones that THP aligns, a file), a hinted one, mremap moves, malloc's heap (brk) and
 * malloc's large blocks, munmap and mprotect. Every address it gets is the kernel's random choice. It ends by copying
 * /proc/self/maps to argv[2] with raw system calls only, so that the copy is the address space at exit.
 *
 *   follow FILE MAPSCOPY
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static char buf[1 << 16];

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;

	/* The heap: brk(NULL) shows the random break, small blocks grow it. */
	char *small[64];
	for (int i = 0; i < 64; i++) {
		small[i] = malloc(4000);
		memset(small[i], i, 4000);
	}

	/* Large blocks: malloc's mmap, freed with munmap. */
	char *big = malloc(1 << 20);
	memset(big, 1, 1 << 20);
	free(big);

	char *a = mmap(NULL, 12288, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a[0] = 1;
	/* Not written before they move: an strace log shows no page faults, so the model cannot know which VMAs
	 * have an anon_vma (docs/divergences.md), and a moved VMA merges with its new neighbours by it. */
	char *thp = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(argv[1], O_RDONLY);
	char *f = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)f;
	mprotect(a + 4096, 4096, PROT_READ);

	/* A hint that is free: Linux maps where it points. */
	char *hinted = mmap((void *)0x100000000UL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	(void)hinted;

	/* mremap: grown in place where free, moved where not. */
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *blocker = mmap(m + 8192, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	(void)blocker;
	char *moved = mremap(m, 8192, 65536, MREMAP_MAYMOVE);
	moved[60000] = 3;
	char *moved2 = mremap(thp, 4 << 20, 8 << 20, MREMAP_MAYMOVE);
	moved2[0] = 4;
	munmap(a, 4096);

	for (int i = 0; i < 64; i += 2)
		free(small[i]);
	char *after = malloc(200000);
	memset(after, 5, 200000);

	int in = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY);
	int out = (int)syscall(SYS_openat, AT_FDCWD, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	long n;
	while ((n = syscall(SYS_read, in, buf, sizeof(buf))) > 0)
		syscall(SYS_write, out, buf, n);
	syscall(SYS_exit_group, 0);
	return 0;
}
