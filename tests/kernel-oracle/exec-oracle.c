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
 * With the argument "smaps" it prints /proc/PID/smaps instead of maps.
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
    /* "exec-oracle smaps" prints /proc/PID/smaps instead of maps. */
    if (argc > 1 && strcmp(argv[1], "smaps") == 0)
        view = "smaps";
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
        if (WIFSTOPPED(status)) {
            printf("R %d 0\n", index);
            fflush(stdout);
            dump_maps(pid);
            kill(pid, SIGKILL);
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
