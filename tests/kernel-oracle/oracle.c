/*
 * oracle.c - Mapwright kernel oracle: runs a numeric syscall trace on the real
 * Linux kernel and prints the results so the C# model can be compared with it.
 *
 * Build (exactly):
 *   gcc -O2 -static -nostdlib -nostartfiles -ffreestanding -fno-stack-protector -fno-builtin -fno-pie -no-pie -o oracle oracle.c
 *
 * Why libc-free: the oracle must not disturb its own address space. libc would
 * malloc (brk/mmap), map locale files, set up TLS with mmap etc., making the
 * address space depend on libc internals. Here everything is static .bss, the
 * only syscalls are the ones listed below, and none of them creates a mapping.
 *
 * Protocol: see README.md in this folder.
 */

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;

/* ---------------------------------------------------------------- syscalls */
enum {
	NR_read = 0, NR_write = 1, NR_close = 3, NR_mmap = 9, NR_mprotect = 10,
	NR_munmap = 11, NR_brk = 12, NR_rt_sigaction = 13, NR_mremap = 25,
	NR_mincore = 27, NR_madvise = 28, NR_execve = 59, NR_exit = 60,
	NR_kill = 62, NR_getrlimit = 97, NR_capset = 126, NR_sigaltstack = 131,
	NR_personality = 135, NR_prctl = 157, NR_setrlimit = 160, NR_tkill = 200,
	NR_remap_file_pages = 216, NR_clock_gettime = 228, NR_exit_group = 231,
	NR_tgkill = 234, NR_openat = 257, NR_execveat = 322, NR_pkey_mprotect = 329,
	NR_mseal = 462,
	/* multi-process traces (K/X ops) */
	NR_poll = 7, NR_getpid = 39, NR_fork = 57, NR_wait4 = 61, NR_waitid = 247,
	NR_dup3 = 292, NR_pipe2 = 293,
};

static inline i64 syscall6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f)
{
	register i64 r10 __asm__("r10") = d;
	register i64 r8 __asm__("r8") = e;
	register i64 r9 __asm__("r9") = f;
	i64 ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define syscall0(n) syscall6(n, 0, 0, 0, 0, 0, 0)
#define syscall1(n, a) syscall6(n, (i64)(a), 0, 0, 0, 0, 0)
#define syscall2(n, a, b) syscall6(n, (i64)(a), (i64)(b), 0, 0, 0, 0)
#define syscall3(n, a, b, c) syscall6(n, (i64)(a), (i64)(b), (i64)(c), 0, 0, 0)
#define syscall4(n, a, b, c, d) syscall6(n, (i64)(a), (i64)(b), (i64)(c), (i64)(d), 0, 0)
#define syscall5(n, a, b, c, d, e) syscall6(n, (i64)(a), (i64)(b), (i64)(c), (i64)(d), (i64)(e), 0)

static __attribute__((noreturn)) void sys_exit(int code)
{
	for (;;)
		syscall1(NR_exit_group, code);
}

/*
 * Entry point. The kernel leaves argc at (%rsp), then argv[], NULL, envp[],
 * NULL, auxv. We pass that pointer to C and realign the stack to the ABI.
 */
__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"  xor %rbp, %rbp\n"
	"  mov %rsp, %rdi\n"
	"  and $-16, %rsp\n"
	"  call start_c\n"
	"  hlt\n");

/*
 * gcc may emit calls to memset/memcpy for struct copies/initialisers even with
 * -ffreestanding (it never needs more than these two here; the link would
 * fail loudly otherwise). The optimize attribute stops gcc from "recognising" the
 * loops as memset/memcpy and turning them into self-recursive calls.
 */
#define NOLIBCALL __attribute__((used, optimize("no-tree-loop-distribute-patterns")))
NOLIBCALL void *memset(void *d, int c, u64 n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}
NOLIBCALL void *memcpy(void *d, const void *s, u64 n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}
static u64 slen(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}
static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* ------------------------------------------------------------ static memory */
#define IN_CAP (8UL << 20)
#define OUT_CAP (8UL << 20)
#define SCRATCH_CAP (1UL << 20)
#define MAX_OPS 200000
#define MAX_PROT 512

static char in_buf[IN_CAP];
static char out_buf[OUT_CAP];
static u64 out_len;
static u8 scratch[SCRATCH_CAP] __attribute__((aligned(4096)));
static char init_maps[1UL << 20];
static u8 altstack[64 * 1024] __attribute__((aligned(16)));

struct op {
	u64 a[7];     /* S: NR, A0..A5; V: N; P: ADDR LEN; W: ADDR LEN BYTE; K: its ordinal; X: IDX */
	u32 line;     /* source line (for diagnostics) */
	u8 kind;      /* 'S' 'V' 'M' 'T' 'Q' 'P' 'W' 'F' 'K' 'X' */
	u8 at_mask;   /* S: bit i set => argument A_i is '@' (scratch address) */
};
static struct op ops[MAX_OPS];

/* strings given as "$hex" arguments of S ops (open paths, memfd names), NUL-terminated */
#define STR_POOL_CAP (1UL << 20)
static char str_pool[STR_POOL_CAP];
static u64 str_used;
static u64 n_ops;

struct range { u64 start, end; };
static struct range prot[MAX_PROT]; /* initial mappings: never touch these */
static u64 n_prot;
static u64 init_brk;

/* ------------------------------------------------------------------ output */
static void write_all(int fd, const char *p, u64 n)
{
	while (n) {
		i64 r = syscall3(NR_write, fd, p, n);
		if (r == -4 /* EINTR */)
			continue;
		if (r <= 0)
			sys_exit(3);
		p += r, n -= (u64)r;
	}
}
static void out_flush(void)
{
	write_all(1, out_buf, out_len);
	out_len = 0;
}
static void out_put(const char *p, u64 n)
{
	while (n) {
		u64 room = OUT_CAP - out_len, k = n < room ? n : room;
		memcpy(out_buf + out_len, p, k);
		out_len += k, p += k, n -= k;
		if (out_len == OUT_CAP)
			out_flush();
	}
}
static void out_str(const char *s) { out_put(s, slen(s)); }
static void out_ch(char c) { out_put(&c, 1); }
static void out_hex(u64 v, int min_digits)
{
	char t[16];
	int n = 0;
	do {
		t[15 - n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || n < min_digits);
	out_put(t + 16 - n, n);
}
static int fmt_udec(char *t /* >= 20 */, u64 v)
{
	char r[20];
	int n = 0, i;
	do {
		r[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		t[i] = r[n - 1 - i];
	return n;
}
static void out_udec(u64 v)
{
	char t[20];
	out_put(t, fmt_udec(t, v));
}
static void out_sdec(i64 v)
{
	if (v < 0) {
		out_ch('-');
		out_udec(-(u64)v); /* correct for INT64_MIN too */
	} else
		out_udec((u64)v);
}
static void err_str(const char *s) { write_all(2, s, slen(s)); }

/* ------------------------------------------------------ processes (K / X) */
/*
 * A trace with K ops runs in up to 16 processes. Each has the whole op list;
 * exactly one (the token holder) runs ops. The token is a message written to
 * the next holder's pipe: the op index to resume at plus the set of live
 * processes. Every process holds both ends of every pipe (inherited), so a
 * write never meets EPIPE and needs no SIGPIPE disposition.
 */
/*
 * Rarely run code, kept small: the whole .text must stay within its 3 pages,
 * or the ELF image (and so the initial maps every test compares) would move.
 */
#define COLD __attribute__((noinline, cold))
#define MAX_PROCS 16
#define PIPE_FD_BASE 960 /* process p reads fd 960+2p; the others write fd 961+2p */
#define TOK_END (~0UL)
#define TOK_ABORT (~0UL - 1)
struct tok { u64 cmd, live, code; };
static u64 n_kops;        /* K ops in the op list (parse time) */
static u64 n_procs;       /* 1 + n_kops once the pipes exist; 0 = single process, no pipes */
static u64 self_idx;      /* 0 = the original process, k = the child of the k-th K op */
static u64 live_mask;     /* processes created and not exited; travels with the token */
static i64 pid0;          /* pid of process 0 */

static COLD void send_tok(u64 p, u64 cmd, u64 code)
{
	struct tok t = { cmd, live_mask, code };
	write_all(PIPE_FD_BASE + 2 * (int)p + 1, (const char *)&t, sizeof(t));
}
/* to every other process that has a pipe (a dead or never-forked one just never reads it) */
static COLD void broadcast(u64 cmd, u64 code)
{
	u64 p;
	for (p = 0; p < n_procs; p++)
		if (p != self_idx)
			send_tok(p, cmd, code);
}
/* process 0 (a child subreaper): wait for every descendant until ECHILD */
static COLD void reap_all(void)
{
	for (;;) {
		i64 r = syscall4(NR_wait4, -1, 0, 0x40000000 /* __WALL */, 0);
		if (r == -4)
			continue;
		if (r < 0)
			break;
	}
}
/* exit after an error; in a multi-process run, take the other processes down too */
static __attribute__((noreturn)) void die(int code)
{
	if (n_procs) {
		broadcast(TOK_ABORT, (u64)code);
		if (self_idx == 0)
			reap_all();
	}
	sys_exit(code);
}

/* "E <line>: <message>" on stderr, exit 2 (malformed input) */
static __attribute__((noreturn)) void input_error(u64 line, const char *msg)
{
	char t[24];
	int n;
	out_len = 0; /* nothing has been executed yet; drop pending output */
	err_str("E ");
	n = fmt_udec(t, line);
	write_all(2, t, n);
	err_str(": ");
	err_str(msg);
	err_str("\n");
	sys_exit(2);
}
static __attribute__((noreturn)) void fatal(const char *msg)
{
	out_flush();
	err_str("oracle: ");
	err_str(msg);
	err_str("\n");
	die(3);
}
/* a trace that cannot go on at run time (e.g. X of a process whose fork failed) */
static __attribute__((noreturn)) void run_error(const char *msg)
{
	out_flush();
	err_str("oracle: ");
	err_str(msg);
	err_str("\n");
	die(2);
}

/* ------------------------------------------------------------------ maps */
#define AT_FDCWD (-100)
static int open_ro(const char *path)
{
	return (int)syscall4(NR_openat, AT_FDCWD, path, 0 /* O_RDONLY */, 0);
}

/* Read a whole file into buf (NUL-terminated); returns length. */
static u64 read_file(const char *path, char *buf, u64 cap)
{
	int fd = open_ro(path);
	u64 len = 0;
	if (fd < 0)
		fatal("cannot open file");
	for (;;) {
		i64 r = syscall3(NR_read, fd, buf + len, cap - 1 - len);
		if (r == -4)
			continue;
		if (r < 0)
			fatal("read failed");
		if (r == 0)
			break;
		len += (u64)r;
		if (len == cap - 1)
			fatal("file too large for buffer");
	}
	syscall1(NR_close, fd);
	buf[len] = 0;
	return len;
}

/*
 * Copy /proc/self/maps straight into the output buffer (no intermediate copy,
 * no size limit: with ~65000 VMAs the file is several MiB). Reading a seq_file
 * only allocates kernel memory, so it does not change what it reports.
 */
static void out_proc_file(const char *path)
{
	int fd = open_ro(path);
	if (fd < 0)
		fatal("cannot open a /proc/self file");
	for (;;) {
		i64 r;
		if (OUT_CAP - out_len < 65536)
			out_flush();
		r = syscall3(NR_read, fd, out_buf + out_len, OUT_CAP - out_len);
		if (r == -4)
			continue;
		if (r < 0)
			fatal("read /proc/self/maps failed");
		if (r == 0)
			break;
		out_len += (u64)r;
	}
	syscall1(NR_close, fd);
}

static void out_maps(void) { out_proc_file("/proc/self/maps"); }

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse "start-end ..." of every maps line into the protected-range table. */
static void record_protected(const char *m)
{
	while (*m) {
		u64 s = 0, e = 0;
		while (hexval(*m) >= 0)
			s = s * 16 + hexval(*m++);
		if (*m == '-')
			m++;
		while (hexval(*m) >= 0)
			e = e * 16 + hexval(*m++);
		if (n_prot == MAX_PROT)
			fatal("too many initial mappings");
		prot[n_prot].start = s, prot[n_prot].end = e, n_prot++;
		while (*m && *m != '\n')
			m++;
		if (*m)
			m++;
	}
}

/* ------------------------------------------------------------- safety net */
/* end of [a, a + roundup(len, 4096)), clamped to 2^64-1 instead of wrapping */
static u64 range_end(u64 a, u64 len)
{
	u64 rl = len > ~0UL - 4095 ? ~0UL : (len + 4095) & ~4095UL;
	return a > ~0UL - rl ? ~0UL : a + rl;
}
static int hits_protected(u64 a, u64 len)
{
	u64 e = range_end(a, len), i;
	for (i = 0; i < n_prot; i++)
		if (a < prot[i].end && e > prot[i].start)
			return 1;
	return 0;
}
#define TASK_SIZE_ 0x7ffffffff000UL
static u64 page_align(u64 v) { return (v + 4095) & ~4095UL; }

/*
 * 1 if the kernel surely rejects the call in its argument checks, before it
 * touches any mapping: such a call is safe to run even when its range covers
 * the oracle (and the model must give the same errno for it).
 */
static int kernel_rejects(const u64 *x)
{
	u64 nr = x[0], a0 = x[1], a1 = x[2], a2 = x[3], a3 = x[4], a4 = x[5];
	switch (nr) {
	case NR_munmap:        /* do_vmi_munmap: EINVAL */
		return (a0 & 4095) || a0 > TASK_SIZE_ || a1 > TASK_SIZE_ - a0 || page_align(a1) == 0;
	case NR_mprotect:      /* EINVAL unaligned, 0 for len 0, ENOMEM on wrap */
	case NR_pkey_mprotect:
		return (a0 & 4095) || a1 == 0 || a0 + page_align(a1) <= a0;
	case NR_madvise:       /* is_valid_madvise: EINVAL; len 0: 0 */
	case NR_mseal:
		return (a0 & 4095) || page_align(a1) == 0 || a0 + page_align(a1) <= a0
			|| (nr == NR_mseal && a2 != 0);
	case NR_mmap:          /* EINVAL unaligned fixed address or offset, ENOMEM past TASK_SIZE */
		return (a0 & 4095) || (x[6] & 4095) || page_align(a1) == 0
			|| page_align(a1) > TASK_SIZE_ || a0 > TASK_SIZE_ - page_align(a1)
			|| (a3 & 0xf) == 0 || (a3 & 0xf) > 3;
	case NR_mremap:        /* check_mremap_params: EINVAL */
		if ((a3 & ~7UL) || (a0 & 4095) || page_align(a2) == 0 || page_align(a2) > TASK_SIZE_)
			return 1;
		if (a3 & 6)    /* FIXED or DONTUNMAP: the new range must be valid */
			return (a4 & 4095) || a4 > TASK_SIZE_ - page_align(a2) || !(a3 & 1);
		return 0;
	default:
		return 0;
	}
}

/* poke writes exactly [a, a + len): no rounding to pages */
static int hits_protected_exact(u64 a, u64 len)
{
	u64 e = a > ~0UL - len ? ~0UL : a + len, i;
	for (i = 0; i < n_prot; i++)
		if (a < prot[i].end && e > prot[i].start)
			return 1;
	return 0;
}

/* 1 if the syscall could unmap/overwrite/re-protect/move the oracle itself */
static int must_refuse(const u64 *x)
{
	u64 nr = x[0], a0 = x[1], a1 = x[2], a2 = x[3], a3 = x[4], a4 = x[5];
	if (kernel_rejects(x))
		return 0;
	switch (nr) {
	case NR_munmap:
	case NR_mprotect:
	case NR_madvise:
	case NR_mseal:
	case NR_pkey_mprotect:     /* extra: same range semantics as mprotect */
	case NR_remap_file_pages:  /* extra: replaces the pages of [a0,a0+a1) */
		return hits_protected(a0, a1);
	case NR_mmap:
		if ((a3 & 0x10) && !(a3 & 0x100000)) /* MAP_FIXED w/o NOREPLACE */
			return hits_protected(a0, a1);
		return 0;
	case NR_mremap:
		if (hits_protected(a0, a1 ? a1 : 4096))
			return 1;
		return (a3 & 2 /* MREMAP_FIXED */) && hits_protected(a4, a2);
	case NR_brk:
		/* brk never unmaps below the start of the heap nor maps over a VMA */
		return 0;
	default:
		return 0;
	}
}

/* -------------------------------------------------------- peek/poke + signals */
/*
 * The byte loops are hand-written asm so that the faulting instruction has a
 * known address. The SIGSEGV/SIGBUS handler checks that the saved RIP is
 * exactly that instruction, then rewrites RIP to the routine's exit label and
 * RAX to the signal number; rt_sigreturn then "returns" the signal number from
 * the routine. No setjmp, no compiler-generated code between fault and
 * recovery, so the recovery cannot be broken by optimisation.
 *
 *   u64 oracle_peek(const u8 *p, u64 n, u64 *hash) -> 0 or signal number
 *   u64 oracle_poke(u8 *p, u64 n, u64 byte)        -> 0 or signal number
 */
__asm__(".text\n"
	"oracle_peek:\n"
	"  movabs $0xcbf29ce484222325, %r8\n"
	"  movabs $0x100000001b3, %r9\n"
	"  xor %eax, %eax\n"
	"  test %rsi, %rsi\n"
	"  jz 2f\n"
	"1:\n"
	"oracle_peek_load:\n"
	"  movzbl (%rdi), %ecx\n"
	"  xor %rcx, %r8\n"
	"  imul %r9, %r8\n"
	"  inc %rdi\n"
	"  dec %rsi\n"
	"  jnz 1b\n"
	"2:\n"
	"  mov %r8, (%rdx)\n"
	"oracle_peek_out:\n"
	"  ret\n"
	"oracle_poke:\n"
	"  xor %eax, %eax\n"
	"  test %rsi, %rsi\n"
	"  jz 2f\n"
	"1:\n"
	"oracle_poke_store:\n"
	"  movb %dl, (%rdi)\n"
	"  inc %rdi\n"
	"  dec %rsi\n"
	"  jnz 1b\n"
	"2:\n"
	"oracle_poke_out:\n"
	"  ret\n"
	/* sa_restorer: the kernel requires one on x86-64 (SA_RESTORER). */
	"oracle_restorer:\n"
	"  mov $15, %eax\n" /* rt_sigreturn */
	"  syscall\n"
	"  hlt\n");
u64 oracle_peek(const void *p, u64 n, u64 *hash);
u64 oracle_poke(void *p, u64 n, u64 byte);
extern char oracle_peek_load[], oracle_peek_out[], oracle_poke_store[],
	oracle_poke_out[], oracle_restorer[];

#define UC_GREGS 40 /* offsetof(ucontext_t, uc_mcontext.gregs) on x86-64 */
#define G_RAX 13
#define G_RIP 16

static void on_fault(int sig, void *info, void *uc)
{
	u64 *g = (u64 *)((char *)uc + UC_GREGS);
	(void)info;
	if (g[G_RIP] == (u64)oracle_peek_load) {
		g[G_RIP] = (u64)oracle_peek_out;
		g[G_RAX] = (u64)sig;
		return;
	}
	if (g[G_RIP] == (u64)oracle_poke_store) {
		g[G_RIP] = (u64)oracle_poke_out;
		g[G_RAX] = (u64)sig;
		return;
	}
	/* A fault anywhere else is a bug (or a trace that sent itself a signal). */
	err_str("oracle: unexpected SIGSEGV/SIGBUS outside peek/poke\n");
	die(128 + sig);
}

struct k_sigaction { void *handler; u64 flags; void *restorer; u64 mask; };
struct k_stack { void *sp; int flags; u64 size; };
#define SA_SIGINFO 0x4UL
#define SA_ONSTACK 0x08000000UL
#define SA_RESTORER 0x04000000UL

static void install_handlers(void)
{
	/* alternate stack: a fault must be recoverable even if the stack is odd */
	struct k_stack ss = { altstack, 0, sizeof(altstack) };
	struct k_sigaction sa = { (void *)on_fault, SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
				  (void *)oracle_restorer, 0 };
	if (syscall2(NR_sigaltstack, &ss, 0) < 0 ||
	    syscall4(NR_rt_sigaction, 11 /* SIGSEGV */, &sa, 0, 8) < 0 ||
	    syscall4(NR_rt_sigaction, 7 /* SIGBUS */, &sa, 0, 8) < 0)
		fatal("cannot install signal handlers");
}

static void out_fault_result(u64 sig)
{
	out_str(sig == 7 ? "R SIGBUS\n" : sig == 11 ? "R SIGSEGV\n" : "R SIG?\n");
}

/* ------------------------------------------------------------------ parser */
static int parse_hex(const char *s, u64 n, u64 *v)
{
	u64 x = 0, i;
	if (n == 0 || n > 16)
		return 0;
	for (i = 0; i < n; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return 0;
		x = x * 16 + (u64)h;
	}
	*v = x;
	return 1;
}

static void parse_all(char *buf, u64 len)
{
	u64 pos = 0, line = 0;
	u64 cur = 0, dead = 0, need_x = 0; /* K/X checks: the process that runs each op */
	while (pos < len) {
		const char *tok[10];
		u64 tl[10], nt = 0, i, need;
		u64 end = pos;
		struct op *o;
		line++;
		while (end < len && buf[end] != '\n')
			end++;
		if (end > pos && buf[end - 1] == '\r') /* tolerate CRLF */
			buf[end - 1] = ' ';
		i = pos;
		while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		if (i < end && buf[i] == '#') { /* comment: skip before tokenising */
			pos = end + 1;
			continue;
		}
		for (; i < end;) {
			char c = buf[i];
			if (c == ' ' || c == '\t') {
				i++;
				continue;
			}
			if (nt == 10)
				input_error(line, "too many tokens");
			tok[nt] = buf + i;
			while (i < end && buf[i] != ' ' && buf[i] != '\t')
				i++;
			tl[nt] = (u64)(buf + i - tok[nt]);
			nt++;
		}
		pos = end + 1;
		if (nt == 0)
			continue;
		if (tl[0] != 1)
			input_error(line, "unknown op");
		switch (tok[0][0]) {
		case 'S': need = 8; break;
		case 'V': need = 2; break;
		case 'M': need = 1; break;
		case 'T': need = 1; break;
		case 'P': need = 3; break;
		case 'W': need = 4; break;
		case 'F': need = 4; break;
		case 'Q': need = 1; break;
		case 'K': need = 1; break;
		case 'X': need = 2; break;
		default: input_error(line, "unknown op");
		}
		if (nt != need)
			input_error(line, "wrong number of arguments");
		if (n_ops == MAX_OPS)
			input_error(line, "too many ops");
		o = &ops[n_ops++];
		o->kind = (u8)tok[0][0];
		o->line = (u32)line;
		o->at_mask = 0;
		for (i = 1; i < nt; i++) {
			if (o->kind == 'S' && i >= 2 && tl[i] == 1 && tok[i][0] == '@') {
				o->at_mask |= (u8)(1u << (i - 2));
				o->a[i - 1] = (u64)scratch;
				continue;
			}
			if (o->kind == 'S' && i >= 2 && tok[i][0] == '$') {
				/* "$" + hex bytes: a NUL-terminated string in the static pool (paths, memfd names) */
				o->a[i - 1] = (u64)(str_pool + str_used);
				if ((tl[i] - 1) % 2 != 0 || str_used + (tl[i] - 1) / 2 + 1 > STR_POOL_CAP)
					input_error(line, "bad string argument");
				for (u64 k = 1; k + 1 < tl[i]; k += 2) {
					int hi = hexval(tok[i][k]), lo = hexval(tok[i][k + 1]);
					if (hi < 0 || lo < 0)
						input_error(line, "bad string argument");
					str_pool[str_used++] = (char)(hi * 16 + lo);
				}
				str_pool[str_used++] = 0;
				continue;
			}
			if (!parse_hex(tok[i], tl[i], &o->a[i - 1]))
				input_error(line, "bad hex number");
		}
		if (o->kind == 'V' && o->a[0] > SCRATCH_CAP)
			input_error(line, "V length exceeds scratch buffer (100000)");
		if (o->kind == 'W' && o->a[2] > 0xff)
			input_error(line, "W byte must be 0..ff");
		/* processes: which one runs this op, which exist, which have exited */
		if (need_x && o->kind != 'X')
			input_error(line, "a child's exit must be followed by X");
		need_x = 0;
		if (o->kind == 'K') {
			if (n_kops == MAX_PROCS - 1)
				input_error(line, "too many K ops (at most 15)");
			o->a[0] = ++n_kops;
		}
		if (o->kind == 'X') {
			if (o->a[0] > n_kops)
				input_error(line, "X names a process no earlier K created");
			if (dead & (1UL << o->a[0]))
				input_error(line, "X names a process that has exited");
			cur = o->a[0];
		}
		if (o->kind == 'S' && cur != 0 && (o->a[0] == NR_exit || o->a[0] == NR_exit_group)) {
			dead |= 1UL << cur;
			need_x = 1;
		}
	}
}

/* -------------------------------------------------------------- execution */
static int flush_before(u64 nr)
{
	/* calls that may end/replace the process: emit output produced so far */
	return nr == NR_exit || nr == NR_exit_group || nr == NR_execve ||
	       nr == NR_execveat || nr == NR_kill || nr == NR_tkill || nr == NR_tgkill;
}

/* Pipes for a trace with K ops; before the initial maps (pipes map nothing). */
static COLD void setup_procs(void)
{
	u64 p;
	int fds[2], i;
	pid0 = syscall0(NR_getpid);
	/* orphaned grandchildren come to process 0, which reaps them at the end */
	syscall5(NR_prctl, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0);
	for (p = 0; p <= n_kops; p++) {
		if (syscall2(NR_pipe2, fds, 0x80000 /* O_CLOEXEC */) < 0)
			fatal("cannot create the token pipes");
		/* high fds, so that the trace's own fds still start at 3 */
		for (i = 0; i < 2; i++) {
			if (syscall3(NR_dup3, fds[i], PIPE_FD_BASE + 2 * p + (u64)i, 0x80000) < 0)
				fatal("cannot move a token pipe to fd 960..991 (RLIMIT_NOFILE?)");
			syscall1(NR_close, fds[i]);
		}
	}
	n_procs = n_kops + 1;
	live_mask = 1; /* (not an initialiser: a .data section would move .bss) */
}

/* "<a><num><b>" into p */
static COLD char *cat_path(char *p, const char *a, u64 num, const char *b)
{
	u64 n = slen(a);
	memcpy(p, a, n);
	n += (u64)fmt_udec(p + n, num);
	memcpy(p + n, b, slen(b) + 1);
	return p;
}

/*
 * A waiting process calls this every 200 ms. A process that dies without
 * passing the token on (killed by a signal) would leave the others blocked
 * forever, so a waiting process aborts the run when one of its children was
 * killed by a signal (waitid with WNOWAIT: the zombie stays for the trace's own
 * wait4), and a waiting child exits when process 0 is gone. out_buf is empty
 * while a process waits (it flushed before passing the token), so its first
 * 4000 bytes (already touched by the I{} output) serve as scratch memory:
 * the check touches no new page, and the Rss the trace sees stays the same.
 */
/* /proc/<pid>/stat is "pid (comm) STATE ...": true when the process is gone or a zombie */
static COLD int proc_gone(u64 pid)
{
	char *path = out_buf, *buf = out_buf + 64, *p;
	i64 n, fd = open_ro(cat_path(path, "/proc/", pid, "/stat"));
	n = fd < 0 ? -1 : syscall3(NR_read, fd, buf, 255);
	if (fd >= 0)
		syscall1(NR_close, fd);
	p = buf + (n > 0 ? n - 1 : 0);
	while (p > buf && *p != ')')
		p--;
	return n <= 0 || p == buf || p + 2 >= buf + n || p[2] == 'Z' || p[2] == 'X';
}
static COLD void check_others(void)
{
	char *path = out_buf, *buf = out_buf + 64, *p;
	int *si = (int *)(out_buf + 2048); /* siginfo: si_code at [2], si_pid at [4] */
	i64 n, fd;
	if (self_idx != 0 && proc_gone((u64)pid0))
		sys_exit(3);
	fd = open_ro(cat_path(path, "/proc/self/task/", (u64)syscall0(NR_getpid), "/children"));
	if (fd < 0) /* no CONFIG_PROC_CHILDREN: no check */
		return;
	n = syscall3(NR_read, fd, buf, 1023); /* at most 15 pids */
	syscall1(NR_close, fd);
	buf[n > 0 ? n : 0] = 0;
	for (p = buf; *p;) {
		u64 pid = 0;
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		while (*p >= '0' && *p <= '9')
			pid = pid * 10 + (u64)(*p++ - '0');
		memset(si, 0, 128);
		if (syscall5(NR_waitid, 1 /* P_PID */, pid, si,
			     4 /* WEXITED */ | 1 /* WNOHANG */ | 0x01000000 /* WNOWAIT */, 0) == 0 &&
		    si[4] != 0 && (si[2] == 2 /* CLD_KILLED */ || si[2] == 3 /* CLD_DUMPED */))
			run_error("a process of the trace was killed by a signal");
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
}

/* Block until this process gets the token; returns the op index to resume at. */
static COLD u64 wait_token(void)
{
	struct tok t;
	u64 got = 0;
	int fd = PIPE_FD_BASE + 2 * (int)self_idx;
	while (got < sizeof(t)) {
		struct { int fd; short events, revents; } pf = { fd, 1 /* POLLIN */, 0 };
		i64 r = syscall3(NR_poll, &pf, 1, 200);
		if (r == 0)
			check_others();
		if (r == 0 || r == -4)
			continue;
		if (r > 0)
			r = syscall3(NR_read, fd, (char *)&t + got, sizeof(t) - got);
		if (r == -4)
			continue;
		if (r <= 0)
			fatal("cannot read the token pipe");
		got += (u64)r;
	}
	if (t.cmd == TOK_END || t.cmd == TOK_ABORT) {
		if (self_idx == 0)
			reap_all();
		sys_exit(t.cmd == TOK_END ? 0 : (int)t.code);
	}
	live_mask = t.live;
	/* handed on by a child about to exit: run on only once its address space is gone (exit_mm() runs
	   before the task becomes a zombie), so no later op sees the child's mappings */
	while (t.code && !proc_gone(t.code)) {
		i64 ts[2] = { 0, 100000 };
		syscall2(35 /* nanosleep */, ts, 0);
	}
	return t.cmd;
}

/* Token holder: continue in process q at op `next`, and wait for the token to come back. */
static COLD u64 pass_token(u64 q, u64 next)
{
	if (!(live_mask & (1UL << q)))
		run_error("X names a process that does not exist (its fork failed)");
	out_flush();
	send_tok(q, next, 0);
	return wait_token();
}

/* S exit/exit_group at op i of a multi-process run: hand on the token first */
static COLD void before_exit(u64 i)
{
	u64 j;
	if (self_idx == 0) { /* process 0 leaves: the children must not wait forever */
		broadcast(TOK_END, 0);
		return;
	}
	live_mask &= ~(1UL << self_idx);
	for (j = i + 1; j < n_ops && ops[j].kind != 'X'; j++)
		;
	if (j == n_ops) {
		broadcast(TOK_END, 0);
		return;
	}
	if (!(live_mask & (1UL << ops[j].a[0])))
		run_error("X names a process that does not exist (its fork failed)");
	send_tok(ops[j].a[0], j + 1, (u64)syscall0(NR_getpid));
}

static void run_ops(void)
{
	u64 i = 0, j;
	while (i < n_ops) {
		struct op *o = &ops[i];
		switch (o->kind) {
		case 'S':
			if (must_refuse(o->a)) {
				out_str("R refused\n");
				break;
			}
			if (flush_before(o->a[0]))
				out_flush();
			if (n_procs && (o->a[0] == NR_exit || o->a[0] == NR_exit_group))
				before_exit(i);
			out_str("R ");
			out_sdec(syscall6((i64)o->a[0], (i64)o->a[1], (i64)o->a[2], (i64)o->a[3],
					  (i64)o->a[4], (i64)o->a[5], (i64)o->a[6]));
			out_ch('\n');
			break;
		case 'V':
			out_str("V ");
			for (j = 0; j < o->a[0]; j++)
				out_hex(scratch[j], 2);
			out_ch('\n');
			break;
		case 'M':
			out_str("M{\n");
			out_maps();
			out_str("}\n");
			break;
		case 'Q':	/* per-VMA detail: /proc/self/smaps, streamed like M (no size limit) */
			out_str("Q{\n");
			out_proc_file("/proc/self/smaps");
			out_str("}\n");
			break;
		case 'K': {	/* fork; the child waits for the token */
			i64 r;
			out_flush(); /* or the child would inherit (and repeat) pending output */
			r = syscall0(NR_fork);
			if (r == 0) {
				self_idx = o->a[0];
				i = wait_token();
				continue;
			}
			out_str("R ");
			if (r < 0) {
				out_sdec(r);
			} else {
				live_mask |= 1UL << o->a[0];
				out_udec(o->a[0]);
			}
			out_ch('\n');
			break;
		}
		case 'X':	/* run the following ops in process a[0] */
			if (o->a[0] == self_idx)
				break;
			i = pass_token(o->a[0], i + 1);
			continue;
		case 'T':	/* the accounting counters: /proc/self/status */
			out_str("T{\n");
			out_proc_file("/proc/self/status");
			out_str("}\n");
			break;
		case 'F': {	/* fpeek: pread FD from OFF, LEN bytes, until EOF; hash what was read */
			u64 fd = o->a[0], off = o->a[1], want = o->a[2], got = 0;
			u64 h = 0xcbf29ce484222325UL;
			i64 first = 0;
			while (got < want) {
				u64 chunk = want - got > SCRATCH_CAP ? SCRATCH_CAP : want - got;
				i64 r = (i64)syscall4(17 /* pread64 */, fd, (u64)scratch, chunk, off + got);
				if (r < 0) {
					if (got == 0)
						first = r;
					break;
				}
				if (r == 0)
					break;
				for (u64 k = 0; k < (u64)r; k++) {
					h ^= scratch[k];
					h *= 0x100000001b3UL;
				}
				got += (u64)r;
			}
			if (first < 0) {
				out_str("R ");
				out_sdec(first);
				out_ch('\n');
			} else {
				out_str("R 0x");
				out_hex(h, 16);
				out_ch('\n');
			}
			break;
		}
		case 'P': {
			u64 h = 0, sig = oracle_peek((const void *)o->a[0], o->a[1], &h);
			if (sig) {
				out_fault_result(sig);
			} else {
				out_str("R 0x");
				out_hex(h, 16);
				out_ch('\n');
			}
			break;
		}
		case 'W': {
			u64 sig;
			/* deviation: writing over the oracle's own memory would corrupt it */
			if (hits_protected_exact(o->a[0], o->a[1])) {
				out_str("R refused\n");
				break;
			}
			sig = oracle_poke((void *)o->a[0], o->a[1], o->a[2]);
			if (sig)
				out_fault_result(sig);
			else
				out_str("R 0\n");
			break;
		}
		}
		i++;
	}
	if (n_procs) { /* end of the op list: everyone else exits; process 0 reaps them */
		out_flush();
		broadcast(TOK_END, 0);
		if (self_idx != 0)
			sys_exit(0);
		reap_all();
	}
}

/* ---------------------------------------------------------- normalisation */
#define CHILD_MARKER "oracle-child"
#define ADDR_NO_RANDOMIZE 0x0040000L
#define RLIMIT_STACK 3
#define RLIMIT_MEMLOCK 8
#define EIGHT_MIB 8388608UL

static void set_limit(int res)
{
	u64 r[2] = { EIGHT_MIB, EIGHT_MIB };
	if (syscall2(NR_setrlimit, res, r) == 0)
		return;
	/* not allowed to set the hard limit: set only the soft one if possible */
	if (syscall2(NR_getrlimit, res, r) == 0) {
		if (r[1] >= EIGHT_MIB)
			r[0] = EIGHT_MIB;
		else
			r[0] = r[1];
		syscall2(NR_setrlimit, res, r);
	}
}

/*
 * The address-space layout depends on: ASLR (personality ADDR_NO_RANDOMIZE),
 * RLIMIT_STACK (mmap_base gap, and legacy bottom-up layout when unlimited),
 * and the size of argv/envp/auxv (initial stack). All are fixed at execve, so
 * we set them and execve ourselves once, with an empty environment.
 *
 * "Already normalised" = argv[0] is exactly "oracle-child" AND personality has
 * ADDR_NO_RANDOMIZE. argv[0] is the loop guard: a process carrying the marker
 * never re-executes again; if the personality is missing there anyway (only
 * possible when someone launches us with that argv[0] by hand) we stop with
 * an error instead of looping. The environment is not consulted at all.
 */
static char *child_argv[256];
static char *child_envp[1];

static void normalise(int argc, char **argv)
{
	i64 pers = syscall1(NR_personality, 0xffffffffL);
	int i;
	if (argc > 0 && streq(argv[0], CHILD_MARKER)) {
		if (pers >= 0 && (pers & ADDR_NO_RANDOMIZE))
			return;
		fatal("argv[0] is oracle-child but ASLR is on; do not use that argv[0]");
	}
	if (argc > 250)
		fatal("too many arguments");
	syscall1(NR_personality, (pers < 0 ? 0 : pers) | ADDR_NO_RANDOMIZE);
	set_limit(RLIMIT_STACK);
	set_limit(RLIMIT_MEMLOCK);
	child_argv[0] = CHILD_MARKER;
	for (i = 1; i < argc; i++)
		child_argv[i] = argv[i];
	child_argv[argc < 1 ? 1 : argc] = 0;
	child_envp[0] = 0;
	syscall3(NR_execve, "/proc/self/exe", child_argv, child_envp);
	fatal("execve(/proc/self/exe) failed");
}

static void drop_privileges(void)
{
	struct { u32 version; int pid; } hdr = { 0x20080522 /* _V3 */, 0 };
	struct { u32 eff, perm, inh; } data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	syscall2(NR_capset, &hdr, data); /* failure is tolerated */
	syscall5(NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0);
}

static void read_input(const char *path)
{
	int fd = 0, own = 0;
	u64 len = 0;
	if (path && !streq(path, "-")) {
		fd = open_ro(path);
		if (fd < 0)
			input_error(0, "cannot open input file");
		own = 1;
	}
	for (;;) {
		i64 r = syscall3(NR_read, fd, in_buf + len, IN_CAP - len);
		if (r == -4)
			continue;
		if (r < 0)
			input_error(0, "read error on input");
		if (r == 0)
			break;
		len += (u64)r;
		if (len == IN_CAP) { /* full: anything more is an error */
			char c;
			if (syscall3(NR_read, fd, &c, 1) != 0)
				input_error(0, "input larger than 8 MiB");
			break;
		}
	}
	if (own)
		syscall1(NR_close, fd);
	parse_all(in_buf, len);
}

/* ------------------------------------------------------------------ bench */
#define BENCH_BASE 0x100000000000UL /* 16 TiB: far below mmap_base and brk */
#define BENCH_K 20000
#define BENCH_ROUNDS 5
#define PROT_RW 3
#define MAP_PA 0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */

static u64 now_ns(void)
{
	i64 ts[2];
	syscall2(NR_clock_gettime, 1 /* CLOCK_MONOTONIC */, ts); /* no vDSO */
	return (u64)ts[0] * 1000000000UL + (u64)ts[1];
}
static u64 parse_udec(const char *s)
{
	u64 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u64)(*s++ - '0');
	return v;
}

/* N one-page VMAs at BENCH_BASE + 2*i pages: the gaps prevent merging. */
static void make_vmas(u64 n)
{
	u64 i;
	for (i = 0; i < n; i++) {
		u64 a = BENCH_BASE + 2 * i * 4096;
		if ((u64)syscall6(NR_mmap, a, 4096, PROT_RW, MAP_PA | 0x100000 /* NOREPLACE */,
				  -1, 0) != a)
			fatal("bench: cannot create VMA");
	}
}
static void free_vmas(u64 n)
{
	if (n)
		syscall2(NR_munmap, BENCH_BASE, 2 * n * 4096);
}

/* median of the rounds, in ns per op for `per_round` ops per round */
static void bench_line_per(const char *name, u64 n, u64 rounds[BENCH_ROUNDS], u64 per_round)
{
	u64 i, j, med, x10;
	for (i = 0; i < BENCH_ROUNDS; i++) /* insertion sort, 5 elements */
		for (j = i; j > 0 && rounds[j - 1] > rounds[j]; j--) {
			u64 t = rounds[j];
			rounds[j] = rounds[j - 1], rounds[j - 1] = t;
		}
	med = rounds[BENCH_ROUNDS / 2];
	x10 = (med * 10 + per_round / 2) / per_round;
	out_str("native "), out_str(name), out_str(" vmas="), out_udec(n);
	out_str(" ns_per_op="), out_udec(x10 / 10), out_ch('.'), out_udec(x10 % 10);
	out_ch('\n');
	out_flush();
}
static void bench_line(const char *name, u64 n, u64 rounds[BENCH_ROUNDS])
{
	bench_line_per(name, n, rounds, BENCH_K);
}

/*
 * Minor faults: a fresh 64 MiB private anonymous RW region (no MAP_POPULATE,
 * MADV_NOHUGEPAGE so THP cannot make it a few huge-page faults), one access per
 * page, only the accesses timed. A write allocates a zeroed page; a read maps
 * the shared zero page. Reported per page, with vmas=0 (no extra VMAs).
 */
#define FT_PAGES 16384
static COLD void bench_first_touch(const char *name, int write)
{
	u64 r[BENCH_ROUNDS], i, k;
	for (i = 0; i < BENCH_ROUNDS; i++) {
		i64 p = syscall6(NR_mmap, 0, FT_PAGES * 4096, PROT_RW, MAP_PA, -1, 0);
		volatile u8 *v = (volatile u8 *)p;
		u64 t0;
		if (p < 0)
			fatal("bench: cannot map 64 MiB");
		syscall3(NR_madvise, p, FT_PAGES * 4096, 15 /* MADV_NOHUGEPAGE */);
		t0 = now_ns();
		if (write)
			for (k = 0; k < FT_PAGES; k++)
				v[k * 4096] = 1;
		else
			for (k = 0; k < FT_PAGES; k++)
				(void)v[k * 4096];
		r[i] = now_ns() - t0;
		syscall2(NR_munmap, p, FT_PAGES * 4096);
	}
	bench_line_per(name, 0, r, FT_PAGES);
}

static int bench_skip(const char *name, u64 n, u64 max_map, u64 max_vmas)
{
	const char *why = 0;
	if (n > max_vmas)
		why = "max_vmas";
	else if (n + 256 > max_map) /* 256: room for our own and the timed VMAs */
		why = "max_map_count";
	if (!why)
		return 0;
	out_str("native "), out_str(name), out_str(" vmas="), out_udec(n);
	out_str(" skipped="), out_str(why), out_ch('\n');
	out_flush();
	return 1;
}

static void bench(int argc, char **argv)
{
	static const u64 sizes[] = { 100, 10000, 65000, 1000000 };
	static char num[64];
	u64 max_vmas = ~0UL, max_map, r[BENCH_ROUNDS], s, k, i;
	if (argc >= 4 && streq(argv[2], "--max-vmas"))
		max_vmas = parse_udec(argv[3]);
	read_file("/proc/sys/vm/max_map_count", num, sizeof(num));
	max_map = parse_udec(num);

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		u64 n = sizes[s];
		if (bench_skip("mmap_munmap", n, max_map, max_vmas))
			continue;
		make_vmas(n);
		for (i = 0; i < BENCH_ROUNDS; i++) {
			u64 t0 = now_ns();
			for (k = 0; k < BENCH_K; k++) {
				i64 p = syscall6(NR_mmap, 0, 4096, PROT_RW, MAP_PA, -1, 0);
				syscall2(NR_munmap, p, 4096);
			}
			r[i] = now_ns() - t0;
		}
		free_vmas(n);
		bench_line("mmap_munmap", n, r);
	}

	if (!bench_skip("mprotect_split_merge", 10000, max_map, max_vmas)) {
		/* 3-page VMA with an unmapped page on both sides: never merges */
		u64 v = BENCH_BASE - 0x10000000UL, mid = v + 4096;
		make_vmas(10000);
		if ((u64)syscall6(NR_mmap, v, 3 * 4096, PROT_RW, MAP_PA | 0x100000, -1, 0) != v)
			fatal("bench: cannot map 3-page VMA");
		for (i = 0; i < 3; i++)
			((volatile u8 *)v)[i * 4096] = 1;
		for (i = 0; i < BENCH_ROUNDS; i++) {
			u64 t0 = now_ns();
			for (k = 0; k < BENCH_K; k++) {
				syscall3(NR_mprotect, mid, 4096, 1 /* PROT_READ */);
				syscall3(NR_mprotect, mid, 4096, PROT_RW);
			}
			r[i] = now_ns() - t0;
		}
		syscall2(NR_munmap, v, 3 * 4096);
		free_vmas(10000);
		bench_line("mprotect_split_merge", 10000, r);
	}

	if (!bench_skip("lookup_mincore", 10000, max_map, max_vmas)) {
		u64 target = BENCH_BASE + 2 * 5000 * 4096; /* a VMA in the middle */
		make_vmas(10000);
		*(volatile u8 *)target = 1; /* resident */
		for (i = 0; i < BENCH_ROUNDS; i++) {
			u64 t0 = now_ns();
			for (k = 0; k < BENCH_K; k++)
				syscall3(NR_mincore, target, 4096, scratch);
			r[i] = now_ns() - t0;
		}
		free_vmas(10000);
		bench_line("lookup_mincore", 10000, r);
	}

	bench_first_touch("first_touch_write", 1);
	bench_first_touch("first_touch_read", 0);
}

/* ------------------------------------------------------------------- main */
__attribute__((used, noreturn)) void start_c(i64 *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	if (argc >= 2 && streq(argv[1], "--bench")) {
		/* bench: no re-exec/cap drop needed, layout does not matter */
		bench(argc, argv);
		out_flush();
		sys_exit(0);
	}
	normalise(argc, argv);  /* may execve; returns only when normalised */
	/* input first (still privileged: any readable path works), then drop */
	read_input(argc >= 2 ? argv[1] : 0); /* parses everything; may exit 2 */
	drop_privileges();
	install_handlers();
	if (n_kops)
		setup_procs();

	read_file("/proc/self/maps", init_maps, sizeof(init_maps));
	record_protected(init_maps);
	init_brk = (u64)syscall1(NR_brk, 0);
	out_str("I{\n");
	out_str(init_maps);
	out_str("}\nB ");
	out_hex(init_brk, 1);
	out_ch('\n');

	run_ops();
	out_flush();
	sys_exit(0);
}
