// Two mounts, argv[1] and argv[2]: rename and link between them fail with XDEV, and a symlink in the
// first cannot reach the second through "..", since every preopen is a root of its own.
#include "guest.h"

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  __wasi_fd_t a = preopen_fd(argv[1]), b = preopen_fd(argv[2]), fd;
  check_ok(raw_open(a, "f.txt", 0, __WASI_OFLAGS_CREAT, &fd), "create f.txt");
  check_ok(__wasi_fd_close(fd), "close");
  check_ok(raw_open(b, "g.txt", 0, __WASI_OFLAGS_CREAT, &fd), "create g.txt");
  check_ok(__wasi_fd_close(fd), "close");

  report("rename across mounts", __wasi_path_rename(a, "f.txt", b, "f.txt"));
  report("rename over a file across mounts", __wasi_path_rename(a, "f.txt", b, "g.txt"));
  report("link across mounts", __wasi_path_link(a, 0, "f.txt", b, "f2.txt"));
  check_ok(__wasi_path_symlink("../b/g.txt", a, "to_b"), "symlink to_b");
  report("open through .. to the other mount", raw_open(a, "to_b", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, 0, &fd));
  __wasi_filestat_t st;
  report("f.txt still in the first mount", __wasi_path_filestat_get(a, 0, "f.txt", &st));
  report("no f.txt in the second mount", __wasi_path_filestat_get(b, 0, "f.txt", &st));
  return 0;
}
