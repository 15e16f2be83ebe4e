// Clocks: realtime is plausible, monotonic never goes back, resolutions are sane, and a 20 ms sleep
// through nanosleep, poll() and raw poll_oneoff (relative and absolute) lasts at least 20 ms.
#include <poll.h>
#include <time.h>
#include "guest.h"

#define MS 1000000ULL

static uint64_t mono(void) {
  __wasi_timestamp_t t;
  check_ok(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t), "monotonic");
  return t;
}

static void check_slept(const char *what, uint64_t start) {
  uint64_t d = mono() - start;
  check(d >= 20 * MS, what);
  check(d < 5000 * MS, what);
  printf("%s ok\n", what);
}

static void poll_clock(const char *what, __wasi_timestamp_t timeout, __wasi_subclockflags_t flags) {
  __wasi_subscription_t sub = {0};
  sub.userdata = 0x1234;
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.u.clock.timeout = timeout;
  sub.u.u.clock.flags = flags;
  __wasi_event_t ev = {0};
  __wasi_size_t n = 0;
  check_ok(__wasi_poll_oneoff(&sub, &ev, 1, &n), what);
  check(n == 1 && ev.userdata == 0x1234 && ev.error == 0 && ev.type == __WASI_EVENTTYPE_CLOCK, what);
}

int main(void) {
  struct timespec ts;
  check(clock_gettime(CLOCK_REALTIME, &ts) == 0, "realtime");
  // After 2020-09-13 and before 2100: the host's time, not zero or garbage.
  check(ts.tv_sec > 1600000000 && ts.tv_sec < 4102444800 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000,
        "realtime sane");
  printf("realtime ok\n");

  uint64_t prev = mono();
  for (int i = 0; i < 10000; i++) {
    uint64_t t = mono();
    check(t >= prev, "monotonic non-decreasing");
    prev = t;
  }
  printf("monotonic ok\n");

  __wasi_timestamp_t res;
  check(__wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res) == 0 && res > 0 && res <= 1000 * MS, "res realtime");
  check(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res) == 0 && res > 0 && res <= 1000 * MS,
        "res monotonic");
  check(clock_getres(CLOCK_MONOTONIC, &ts) == 0 && (ts.tv_sec > 0 || ts.tv_nsec > 0), "clock_getres");
  printf("res_get ok\n");
  __wasi_timestamp_t t;
  report("time_get bad clock", __wasi_clock_time_get(99, 1, &t));
  report("res_get bad clock", __wasi_clock_res_get(99, &res));

  uint64_t start = mono();
  struct timespec req = {0, 20 * 1000 * 1000};
  check(nanosleep(&req, NULL) == 0, "nanosleep");
  check_slept("nanosleep", start);

  start = mono();
  check(poll(NULL, 0, 20) == 0, "poll timeout");
  check_slept("poll timeout", start);

  start = mono();
  poll_clock("poll_oneoff relative", 20 * MS, 0);
  check_slept("poll_oneoff relative", start);

  start = mono();
  poll_clock("poll_oneoff absolute", start + 20 * MS, __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME);
  check_slept("poll_oneoff absolute", start);
  return 0;
}
