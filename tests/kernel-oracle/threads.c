/*
 * A multi-threaded program for CaptureReplayTests: three threads, each mapping, allocating (glibc gives each
 * thread its own malloc arena: a 64 MiB reservation trimmed to alignment) and unmapping. The threads start work
 * once all are created (the main thread maps their stacks first) and their memory calls take turns (a mutex), so
 * that the order strace logs them in is the order they ran in: calls that truly overlap can run in an order the log
 * cannot show (docs/divergences.md).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static pthread_mutex_t turn = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t started;

static void *work(void *arg)
{
	pthread_barrier_wait(&started);
	for (int i = 0; i < 4; i++) {
		pthread_mutex_lock(&turn);
		char *p = mmap(NULL, 65536 * (i + 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *q = malloc(100000);
		memset(q, 1, 100);
		munmap(p, 65536 * (i + 1));
		free(q);
		pthread_mutex_unlock(&turn);
	}
	return arg;
}

int main(void)
{
	pthread_t t[3];
	pthread_barrier_init(&started, NULL, 4);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, work, NULL);
	pthread_barrier_wait(&started);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	return 0;
}
