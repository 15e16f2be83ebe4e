// The guest makes symlinks pointing out of its mount argv[1] (absolute, "..", and via a subdirectory)
// and then tries to follow them: creating a link only stores text, following it must fail.
#include "guest.h"

static int escaped;
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static void attempt_open(__wasi_fd_t pre, const char *path, __wasi_oflags_t oflags) {
  __wasi_fd_t fd;
  int err = raw_open(pre, path, FOLLOW, oflags, &fd);
  printf("open %s: %s\n", path, err == 0 ? "ESCAPED" : errno_name(err));
  if (err == 0) escaped = 1, (void)__wasi_fd_close(fd);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir);
  check_ok(__wasi_path_create_directory(pre, "sub"), "mkdir sub");
  report("symlink g_abs -> /etc/passwd", __wasi_path_symlink("/etc/passwd", pre, "g_abs"));
  report("symlink g_rel -> ../outside/secret.txt", __wasi_path_symlink("../outside/secret.txt", pre, "g_rel"));
  report("symlink g_up -> ..", __wasi_path_symlink("..", pre, "g_up"));
  report("symlink sub/g_deep -> ../../outside", __wasi_path_symlink("../../outside", pre, "sub/g_deep"));
  report("symlink g_root -> /", __wasi_path_symlink("/", pre, "g_root"));

  attempt_open(pre, "g_abs", 0);
  attempt_open(pre, "g_rel", 0);
  attempt_open(pre, "g_up", __WASI_OFLAGS_DIRECTORY);
  attempt_open(pre, "g_up/outside/secret.txt", 0);
  attempt_open(pre, "sub/g_deep/secret.txt", 0);
  attempt_open(pre, "sub/g_deep/new.txt", __WASI_OFLAGS_CREAT);
  attempt_open(pre, "g_root/etc/passwd", 0);
  __wasi_filestat_t st;
  report("stat g_rel", __wasi_path_filestat_get(pre, FOLLOW, "g_rel", &st));
  report("mkdir g_up/escaped", __wasi_path_create_directory(pre, "g_up/escaped"));
  report("mkdir sub/g_deep/newdir", __wasi_path_create_directory(pre, "sub/g_deep/newdir"));
  report("symlink through g_up", __wasi_path_symlink("x", pre, "g_up/planted"));
  return escaped;
}
