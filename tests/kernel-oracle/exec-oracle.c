/*
 * exec-oracle: asks the host kernel what address space execve builds.
 *
 * Reads requests from standard input, each a run of NUL-terminated fields:
 *
 *     PATH \0 ARGC \0 ARG... \0 ENVC \0 VAR=VALUE... \0
 *
 * (ARGC and ENVC in decimal). For each request it forks a child that turns
 * address randomisation off (personality ADDR_NO_RANDOMIZE), sets an 8 MiB
 * stack limit, asks to be traced (PTRACE_TRACEME) and calls execve. The
 * parent waits for the stop at the successful exec, prints the child's
 * /proc/PID/maps as it was before the first instruction, and kills it. A
 * failed execve sends its errno back through a close-on-exec pipe.
 *
 * Output, per request, in order:
 *
 *     R INDEX ERRNO\n         (ERRNO 0: the exec succeeded)
 *     ...maps lines...        (only when ERRNO is 0)
 *     E\n
 *
 * With the argument "smaps" (or "status") it prints /proc/PID/smaps (or status) instead of maps; with "exit" it lets the program run
 * (standard output and error on /dev/null) and prints the maps at its exit (PTRACE_O_TRACEEXIT).
 *
 * Build: gcc -O2 -o exec-oracle exec-oracle.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char *input;
static size_t input_len, input_pos;

static void read_all(void)
{
    size_t cap = 1 << 20;
    input = malloc(cap);
    for (;;) {
        if (input_len == cap) {
            cap *= 2;
            input = realloc(input, cap);
        }
        ssize_t n = read(0, input + input_len, cap - input_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("read");
            exit(2);
        }
        if (n == 0)
            break;
        input_len += (size_t)n;
    }
}

/* The next NUL-terminated field, or NULL at the end of the input. */
static char *field(void)
{
    if (input_pos >= input_len)
        return NULL;
    char *start = input + input_pos;
    char *nul = memchr(start, 0, input_len - input_pos);
    if (!nul) {
        fprintf(stderr, "exec-oracle: unterminated field\n");
        exit(2);
    }
    input_pos = (size_t)(nul - input) + 1;
    return start;
}

static char **string_list(void)
{
    char *count = field();
    if (!count) {
        fprintf(stderr, "exec-oracle: truncated request\n");
        exit(2);
    }
    long n = strtol(count, NULL, 10);
    char **list = calloc((size_t)n + 1, sizeof(char *));
    for (long i = 0; i < n; i++) {
        list[i] = field();
        if (!list[i]) {
            fprintf(stderr, "exec-oracle: truncated list\n");
            exit(2);
        }
    }
    return list;
}

static const char *view = "maps";
static int at_exit;

static void dump_maps(pid_t pid)
{
    char path[64], buf[65536];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, view);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        fwrite(buf, 1, (size_t)n, stdout);
    }
    close(fd);
}

int main(int argc, char **argv)
{
    /* "exec-oracle smaps" (or "status") prints /proc/PID/smaps (or status) instead of maps; "exec-oracle exit" lets the program run
     * (its standard output and error on /dev/null) and prints its maps as it exits. */
    if (argc > 1 && (strcmp(argv[1], "smaps") == 0 || strcmp(argv[1], "status") == 0))
        view = argv[1];
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        at_exit = 1;
    read_all();
    for (int index = 0;; index++) {
        char *path = field();
        if (!path)
            break;
        char **argv = string_list();
        char **envp = string_list();

        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) != 0) {
            perror("pipe2");
            return 2;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            struct rlimit stack = { 8UL << 20, 8UL << 20 };
            close(pipefd[0]);
            if (at_exit) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, 1);
                dup2(null, 2);
                close(null);
            }
            setrlimit(RLIMIT_STACK, &stack);
            personality(ADDR_NO_RANDOMIZE);
            ptrace(PTRACE_TRACEME, 0, NULL, NULL);
            execve(path, argv, envp);
            int err = errno;
            (void)!write(pipefd[1], &err, sizeof err);
            _exit(127);
        }
        close(pipefd[1]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        int err = 0;
        if (WIFSTOPPED(status) && at_exit) {
            /* Run to the exit stop, passing signals on. */
            ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT);
            ptrace(PTRACE_CONT, pid, NULL, NULL);
            for (;;) {
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                    ;
                if (!WIFSTOPPED(status) || (status >> 8) == (SIGTRAP | (PTRACE_EVENT_EXIT << 8)))
                    break;
                ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status)));
            }
        }
        if (WIFSTOPPED(status)) {
            printf("R %d 0\n", index);
            fflush(stdout);
            dump_maps(pid);
            kill(pid, SIGKILL);
            /* A tracee in its exit stop finishes exiting only when resumed. */
            if (at_exit)
                ptrace(PTRACE_CONT, pid, NULL, NULL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        } else {
            if (read(pipefd[0], &err, sizeof err) != sizeof err)
                err = -1;
            printf("R %d %d\n", index, err);
        }
        close(pipefd[0]);
        printf("E\n");
        free(argv);
        free(envp);
    }
    fflush(stdout);
    return 0;
}
