/*
 * svp-load: the lab's native load generator and backend server.
 *
 *   svp-load serve PORT [THREADS]          accept, write one byte, close (backend)
 *   svp-load lat HOST PORT SAMPLES [TIMEOUT_MS]
 *       sequential new connections: connect() + first byte + close(), one at a
 *       time; prints latency percentiles (microseconds) as one JSON line
 *   svp-load rate HOST PORT SECONDS THREADS [TIMEOUT_MS]
 *       THREADS workers doing the same in a loop for SECONDS; prints
 *       connections per second as one JSON line
 *
 * The server ends each connection with RST right after its byte, so neither
 * side keeps TIME_WAIT: runs never run out of ports or meet each other's
 * leftovers (old 4-tuples with other timestamp offsets) on a backend. Compiled C so the measuring side costs
 * a few syscalls per connection, not an event loop.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 20

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_addr(const char *host, const char *port, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof(*sa));
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)atoi(port));
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* One new connection: connect, wait for the first byte, close. 0 on success. */
static int one_connection(const struct sockaddr_in *sa, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)); /* bounds connect() */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int rc = -1;
  char byte;
  if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 && read(fd, &byte, 1) == 1) rc = 0;
  close(fd);
  return rc;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static double pct_us(const uint64_t *v, size_t n, double p) {
  if (n == 0) return 0;
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (double)v[rank - 1] / 1000.0;
}

static int cmd_lat(int argc, char **argv) {
  if (argc < 5) return 2;
  struct sockaddr_in sa;
  if (parse_addr(argv[2], argv[3], &sa) < 0) return 2;
  long samples = atol(argv[4]);
  int timeout_ms = argc > 5 ? atoi(argv[5]) : 1000;
  if (samples < 1) return 2;
  uint64_t *v = calloc((size_t)samples, sizeof(uint64_t));
  if (!v) return 1;
  /* first connections resolve neighbours and warm caches: not counted */
  for (int i = 0; i < WARMUP; i++) one_connection(&sa, timeout_ms);
  size_t n = 0;
  long errors = 0;
  double sum = 0;
  for (long i = 0; i < samples; i++) {
    uint64_t t0 = now_ns();
    int rc = one_connection(&sa, timeout_ms);
    uint64_t dt = now_ns() - t0;
    if (rc != 0) {
      errors++;
      continue;
    }
    v[n++] = dt;
    sum += (double)dt;
  }
  qsort(v, n, sizeof(uint64_t), cmp_u64);
  printf("{\"samples\":%zu,\"errors\":%ld,\"min_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,"
         "\"max_us\":%.2f,\"mean_us\":%.2f}\n",
         n, errors, n ? (double)v[0] / 1000.0 : 0, pct_us(v, n, 50), pct_us(v, n, 90), pct_us(v, n, 99),
         n ? (double)v[n - 1] / 1000.0 : 0, n ? sum / (double)n / 1000.0 : 0);
  free(v);
  return n > 0 ? 0 : 1;
}

struct rate_worker {
  pthread_t tid;
  struct sockaddr_in sa;
  uint64_t deadline;
  int timeout_ms;
  long ok, errors;
};

static void *rate_loop(void *arg) {
  struct rate_worker *w = arg;
  while (now_ns() < w->deadline) {
    if (one_connection(&w->sa, w->timeout_ms) == 0)
      w->ok++;
    else
      w->errors++;
  }
  return NULL;
}

static int cmd_rate(int argc, char **argv) {
  if (argc < 6) return 2;
  struct sockaddr_in sa;
  if (parse_addr(argv[2], argv[3], &sa) < 0) return 2;
  double seconds = atof(argv[4]);
  int threads = atoi(argv[5]);
  int timeout_ms = argc > 6 ? atoi(argv[6]) : 1000;
  if (seconds <= 0 || threads < 1 || threads > 256) return 2;
  struct rate_worker *w = calloc((size_t)threads, sizeof(*w));
  if (!w) return 1;
  for (int i = 0; i < WARMUP; i++) one_connection(&sa, timeout_ms);
  uint64_t t0 = now_ns();
  uint64_t deadline = t0 + (uint64_t)(seconds * 1e9);
  for (int i = 0; i < threads; i++) {
    w[i].sa = sa;
    w[i].deadline = deadline;
    w[i].timeout_ms = timeout_ms;
    if (pthread_create(&w[i].tid, NULL, rate_loop, &w[i]) != 0) return 1;
  }
  long ok = 0, errors = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].tid, NULL);
    ok += w[i].ok;
    errors += w[i].errors;
  }
  double elapsed = (double)(now_ns() - t0) / 1e9;
  printf("{\"connections\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"threads\":%d,\"per_second\":%.1f}\n", ok, errors,
         elapsed, threads, (double)ok / elapsed);
  free(w);
  return ok > 0 ? 0 : 1;
}

static void *serve_loop(void *arg) {
  int lfd = *(int *)arg;
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      return NULL;
    }
    (void)!write(fd, "x", 1);
    /* abortive close (RST): no TIME_WAIT here, so a later run reusing the
       client's ports never meets an old connection's state on the backend */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
  }
}

static int cmd_serve(int argc, char **argv) {
  if (argc < 3) return 2;
  int threads = argc > 3 ? atoi(argv[3]) : 2;
  if (threads < 1 || threads > 64) return 2;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0) {
    fprintf(stderr, "svp-load serve: %s\n", strerror(errno));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  pthread_t tid;
  for (int i = 1; i < threads; i++) pthread_create(&tid, NULL, serve_loop, &lfd);
  serve_loop(&lfd);
  return 1;
}

int main(int argc, char **argv) {
  int rc = 2;
  if (argc >= 2 && strcmp(argv[1], "lat") == 0) rc = cmd_lat(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "rate") == 0) rc = cmd_rate(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "serve") == 0) rc = cmd_serve(argc, argv);
  if (rc == 2)
    fprintf(stderr,
            "usage: svp-load serve PORT [THREADS]\n"
            "       svp-load lat HOST PORT SAMPLES [TIMEOUT_MS]\n"
            "       svp-load rate HOST PORT SECONDS THREADS [TIMEOUT_MS]\n");
  return rc;
}
