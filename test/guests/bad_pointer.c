// Pointers and lengths that leave linear memory, passed to raw WASI imports: each call answers FAULT
// (never a host exception, never a partial write into memory), and the guest carries on afterwards.
// Expects "abcd" on stdin so that fd_read has bytes to deliver into the bad buffer.
#include "guest.h"

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
IMPORT(fd_write) int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nwritten);
IMPORT(fd_read) int32_t raw_fd_read(int32_t fd, int32_t iovs, int32_t iovs_len, int32_t nread);
IMPORT(path_open)
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len, int32_t oflags, int64_t base,
                      int64_t inheriting, int32_t fdflags, int32_t fd_out);
IMPORT(args_get) int32_t raw_args_get(int32_t argv, int32_t argv_buf);
IMPORT(random_get) int32_t raw_random_get(int32_t buf, int32_t len);
IMPORT(clock_time_get) int32_t raw_clock_time_get(int32_t id, int64_t precision, int32_t time);
IMPORT(fd_prestat_dir_name) int32_t raw_fd_prestat_dir_name(int32_t fd, int32_t path, int32_t len);
IMPORT(poll_oneoff) int32_t raw_poll_oneoff(int32_t in, int32_t out, int32_t n, int32_t nevents);

static uint32_t iov[2];
static int32_t n_out;

static int32_t ptr(const void *p) { return (int32_t)(uintptr_t)p; }

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  int32_t pre = (int32_t)preopen_fd(dir);
  const uint32_t end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;

  report("fd_write iovec straddles end", raw_fd_write(1, (int32_t)(end - 4), 1, ptr(&n_out)));
  report("fd_write iovec past end", raw_fd_write(1, (int32_t)end, 1, ptr(&n_out)));
  iov[0] = end - 2, iov[1] = 10;
  report("fd_write buffer straddles end", raw_fd_write(1, ptr(iov), 1, ptr(&n_out)));
  iov[0] = 0xFFFFFFF0u, iov[1] = 0x20;
  report("fd_write buffer wraps around", raw_fd_write(1, ptr(iov), 1, ptr(&n_out)));
  iov[0] = (uint32_t)ptr("x"), iov[1] = 1;
  report("fd_write huge iovs_len", raw_fd_write(1, ptr(iov), 0x10000000, ptr(&n_out)));
  iov[0] = (uint32_t)ptr(""), iov[1] = 0;
  report("fd_write result past end", raw_fd_write(1, ptr(iov), 1, (int32_t)end));
  report("fd_write result straddles end", raw_fd_write(1, ptr(iov), 1, (int32_t)(end - 2)));

  iov[0] = end - 2, iov[1] = 4;
  report("fd_read buffer straddles end", raw_fd_read(0, ptr(iov), 1, ptr(&n_out)));

  static const char name[] = "f.txt";
  int32_t fd_out;
  // The directory's own inheriting rights: asking for more would be NOTCAPABLE before any pointer check.
  const int64_t rights = (int64_t)inheriting_rights((__wasi_fd_t)pre);
  report("path_open path past end",
         raw_path_open(pre, 0, (int32_t)(end - 3), 10, 1, rights, rights, 0, ptr(&fd_out)));
  report("path_open huge path_len",
         raw_path_open(pre, 0, ptr(name), (int32_t)0xFFFFFFFFu, 1, rights, rights, 0,
                       ptr(&fd_out)));
  report("path_open fd result past end",
         raw_path_open(pre, 0, ptr(name), 5, 1, rights, rights, 0, (int32_t)end));
  report("args_get argv past end", raw_args_get((int32_t)end, ptr(iov)));
  report("random_get straddles end", raw_random_get((int32_t)(end - 8), 16));
  report("random_get wraps around", raw_random_get((int32_t)0xFFFFFFF8u, 16));
  report("clock_time_get result past end", raw_clock_time_get(0, 1, (int32_t)(end - 4)));
  report("fd_prestat_dir_name past end", raw_fd_prestat_dir_name(pre, (int32_t)(end - 1), 5));
  report("poll_oneoff subscriptions past end", raw_poll_oneoff((int32_t)(end - 16), ptr(iov), 1, ptr(&n_out)));

  // Nothing above may have changed memory or state: a normal call still works.
  static char buf[8];
  __wasi_iovec_t good = {(uint8_t *)buf, sizeof buf};
  __wasi_size_t n = 0;
  report("fd_read still works", __wasi_fd_read(0, &good, 1, &n));
  printf("stdin: [%.*s]\n", (int)n, buf);
  return 0;
}
