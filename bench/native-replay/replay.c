/*
 * The host kernel's side of the whole-process replay comparison: reads a trace of mmap, munmap, mprotect,
 * madvise and mremap lines (the project's trace language, numbers and the symbols below), runs each call
 * with a raw syscall and prints it back with its result as `mapwright run` does ("= 0x...", "= 0",
 * "= -1 ERRNO"). It parses and prints with plain C and stdio, so that the comparison is of two whole
 * processes doing the same job. Build: gcc -O2 -o replay replay.c. Usage: replay TRACE > out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sym { const char *name; unsigned long value; };
static const struct sym syms[] = {
	{"PROT_NONE", 0}, {"PROT_READ", 1}, {"PROT_WRITE", 2}, {"PROT_EXEC", 4},
	{"MAP_SHARED", 1}, {"MAP_PRIVATE", 2}, {"MAP_FIXED", 0x10}, {"MAP_ANONYMOUS", 0x20},
	{"MAP_NORESERVE", 0x4000}, {"MAP_POPULATE", 0x8000}, {"MAP_FIXED_NOREPLACE", 0x100000},
	{"MADV_NORMAL", 0}, {"MADV_RANDOM", 1}, {"MADV_SEQUENTIAL", 2}, {"MADV_WILLNEED", 3},
	{"MADV_DONTNEED", 4}, {"MADV_FREE", 8}, {"MREMAP_MAYMOVE", 1}, {"MREMAP_FIXED", 2},
	{"NULL", 0}, {0, 0},
};

static unsigned long value(const char *s, const char *end, int *ok)
{
	unsigned long v = 0;
	*ok = 1;
	while (s < end) {
		while (s < end && (*s == ' ' || *s == '|'))
			s++;
		const char *t = s;
		while (t < end && *t != '|' && *t != ' ')
			t++;
		if (t == s)
			break;
		if ((*s >= '0' && *s <= '9') || *s == '-') {
			v |= strtoul(s, 0, 0);
		} else {
			const struct sym *y = syms;
			while (y->name && !(strlen(y->name) == (size_t)(t - s) && !memcmp(y->name, s, t - s)))
				y++;
			if (!y->name)
				*ok = 0;
			v |= y->value;
		}
		s = t;
	}
	return v;
}

int main(int argc, char **argv)
{
	FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
	if (!in) {
		perror(argv[1]);
		return 4;
	}
	static char out_buf[1 << 16];
	setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
	char *line = 0;
	size_t cap = 0;
	ssize_t len;
	unsigned long calls = 0;
	while ((len = getline(&line, &cap, in)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		char *open = strchr(line, '('), *close = strrchr(line, ')');
		if (!open || !close || line[0] == '#')
			continue;
		long nr;
		int hex = 0;
		size_t name = open - line;
		if (name == 4 && !memcmp(line, "mmap", 4)) { nr = SYS_mmap; hex = 1; }
		else if (name == 6 && !memcmp(line, "munmap", 6)) nr = SYS_munmap;
		else if (name == 8 && !memcmp(line, "mprotect", 8)) nr = SYS_mprotect;
		else if (name == 7 && !memcmp(line, "madvise", 7)) nr = SYS_madvise;
		else if (name == 6 && !memcmp(line, "mremap", 6)) { nr = SYS_mremap; hex = 1; }
		else continue;
		unsigned long a[6] = {0};
		int n = 0, ok = 1;
		char *p = open + 1;
		while (p < close && n < 6) {
			char *comma = memchr(p, ',', close - p);
			char *e = comma ? comma : close;
			int k;
			a[n++] = value(p, e, &k);
			ok &= k;
			p = e + 1;
		}
		if (!ok) {
			fprintf(stderr, "replay: unknown symbol in: %s\n", line);
			return 2;
		}
		long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		calls++;
		fwrite(line, 1, close + 1 - line, stdout);
		if (r == -1)
			printf(" = -1 %s (%s)\n", strerrorname_np(errno), strerror(errno));
		else if (hex)
			printf(" = 0x%lx\n", (unsigned long)r);
		else
			printf(" = %ld\n", r);
	}
	printf("calls: %lu executed\n", calls);
	fflush(stdout);
	return 0;
}
