// poll() on fds and with a timeout: regular files and stdout are ready at once (a long timeout must
// not delay them), an empty poll sleeps for its timeout, and raw poll_oneoff reports a bad fd as an
// event error and refuses an empty subscription list. Works under the directory argv[1].
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include "guest.h"

#define MS 1000000ULL

static uint64_t mono(void) {
  __wasi_timestamp_t t;
  check_ok(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t), "monotonic");
  return t;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  char path[512];
  snprintf(path, sizeof path, "%s/p.txt", dir);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  check(fd >= 0 && write(fd, "abc", 3) == 3, "create p.txt");

  uint64_t start = mono();
  struct pollfd fds[2] = {{fd, POLLIN | POLLOUT, 0}, {1, POLLOUT, 0}};
  int n = poll(fds, 2, 5000);
  printf("poll file+stdout: %d file=%s%s stdout=%s\n", n, fds[0].revents & POLLIN ? "IN" : "",
         fds[0].revents & POLLOUT ? "OUT" : "", fds[1].revents & POLLOUT ? "OUT" : "");
  check(mono() - start < 2000 * MS, "ready fds do not wait for the timeout");
  printf("no wait ok\n");

  start = mono();
  n = poll(NULL, 0, 20);
  check(n == 0 && mono() - start >= 20 * MS, "timeout only");
  printf("timeout only ok\n");

  // An fd subscription and a clock: the file is ready, so the clock must not fire first.
  __wasi_subscription_t subs[2] = {0};
  subs[0].userdata = 1;
  subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
  subs[0].u.u.fd_read.file_descriptor = (__wasi_fd_t)fd;
  subs[1].userdata = 2;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = 5000 * MS;
  __wasi_event_t evs[2];
  __wasi_size_t got = 0;
  check_ok(__wasi_poll_oneoff(subs, evs, 2, &got), "poll_oneoff file+clock");
  printf("poll_oneoff file+clock: events=%u first=%llu type=%u error=%s\n", (unsigned)got,
         (unsigned long long)evs[0].userdata, (unsigned)evs[0].type, errno_name(evs[0].error));

  subs[0].u.u.fd_read.file_descriptor = 99;
  got = 0;
  check_ok(__wasi_poll_oneoff(subs, evs, 2, &got), "poll_oneoff bad fd");
  printf("poll_oneoff bad fd: events=%u first=%llu error=%s\n", (unsigned)got, (unsigned long long)evs[0].userdata,
         errno_name(evs[0].error));

  report("poll_oneoff no subscriptions", __wasi_poll_oneoff(subs, evs, 0, &got));
  close(fd);
  return 0;
}
