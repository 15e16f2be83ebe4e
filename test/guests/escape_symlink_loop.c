// Symlink loops and over-long chains under argv[1] end in LOOP, never in a hang or a crash.
#include "guest.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static void attempt_open(__wasi_fd_t pre, const char *path, __wasi_oflags_t oflags) {
  __wasi_fd_t fd;
  int err = raw_open(pre, path, FOLLOW, oflags, &fd);
  printf("open %s: %s\n", path, err == 0 ? "ok" : errno_name(err));
  if (err == 0) (void)__wasi_fd_close(fd);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir);
  check_ok(__wasi_path_symlink("b", pre, "a"), "a -> b");
  check_ok(__wasi_path_symlink("a", pre, "b"), "b -> a");
  check_ok(__wasi_path_symlink("self", pre, "self"), "self -> self");
  check_ok(__wasi_path_symlink("./dirloop/x", pre, "dirloop"), "dirloop -> ./dirloop/x");
  check_ok(__wasi_path_symlink("end.txt", pre, "c99"), "c99 -> end.txt");
  char from[16], to[16];
  for (int i = 98; i >= 0; i--) {
    snprintf(from, sizeof from, "c%d", i);
    snprintf(to, sizeof to, "c%d", i + 1);
    check_ok(__wasi_path_symlink(to, pre, from), "chain link");
  }
  __wasi_fd_t fd;
  check_ok(raw_open(pre, "end.txt", 0, __WASI_OFLAGS_CREAT, &fd), "create end.txt");
  (void)__wasi_fd_close(fd);
  printf("links made\n");

  attempt_open(pre, "a", 0);
  attempt_open(pre, "self", 0);
  attempt_open(pre, "self/x", 0);
  attempt_open(pre, "dirloop", 0);
  attempt_open(pre, "a", __WASI_OFLAGS_CREAT);
  attempt_open(pre, "c0", 0);
  attempt_open(pre, "c90", 0);
  __wasi_filestat_t st;
  report("stat a", __wasi_path_filestat_get(pre, FOLLOW, "a", &st));
  report("lstat a", __wasi_path_filestat_get(pre, 0, "a", &st));
  report("mkdir self/d", __wasi_path_create_directory(pre, "self/d"));
  return 0;
}
