// Symlinks the test made on the host inside the mounted directory argv[1], pointing outside it:
// abs_link -> <host>/outside/secret.txt, etc_link -> /etc/passwd, rel_link -> ../outside/secret.txt,
// dir_link -> ../outside. Following any of them must fail (NOTCAPABLE); the links themselves can be
// inspected with lstat/readlink.
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
  static const char *const links[] = {"abs_link", "etc_link", "rel_link", "dir_link"};
  __wasi_filestat_t st;
  for (int i = 0; i < 4; i++) {
    int err = __wasi_path_filestat_get(pre, 0, links[i], &st);
    printf("lstat %s: %s symlink=%d\n", links[i], err == 0 ? "ok" : errno_name(err),
           err == 0 && st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK);
  }
  uint8_t buf[256];
  __wasi_size_t n = 0;
  int err = __wasi_path_readlink(pre, "rel_link", buf, sizeof buf, &n);
  printf("readlink rel_link: %s [%.*s]\n", err == 0 ? "ok" : errno_name(err), (int)n, buf);

  attempt_open(pre, "abs_link", 0);
  attempt_open(pre, "etc_link", 0);
  attempt_open(pre, "rel_link", 0);
  attempt_open(pre, "dir_link", __WASI_OFLAGS_DIRECTORY);
  attempt_open(pre, "dir_link/secret.txt", 0);
  attempt_open(pre, "dir_link/new.txt", __WASI_OFLAGS_CREAT);
  attempt_open(pre, "./rel_link", __WASI_OFLAGS_TRUNC);
  report("stat abs_link", __wasi_path_filestat_get(pre, FOLLOW, "abs_link", &st));
  report("stat rel_link", __wasi_path_filestat_get(pre, FOLLOW, "rel_link", &st));
  report("mkdir dir_link/newdir", __wasi_path_create_directory(pre, "dir_link/newdir"));
  report("unlink dir_link/secret.txt", __wasi_path_unlink_file(pre, "dir_link/secret.txt"));
  report("set times via rel_link",
         __wasi_path_filestat_set_times(pre, FOLLOW, "rel_link", 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  report("hard link via rel_link", __wasi_path_link(pre, FOLLOW, "rel_link", pre, "hard"));
  report("rename into dir_link", __wasi_path_rename(pre, "rel_link", pre, "dir_link/moved"));
  return escaped;
}
