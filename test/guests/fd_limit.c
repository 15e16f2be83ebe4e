// Opens one file again and again under argv[1] until the runtime refuses; argv[2] is the fd limit the
// test gave. The refusal is an errno (not a trap), close to the limit, and closing fds frees slots.
#include "guest.h"

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  int limit = argc > 2 ? atoi(argv[2]) : 0;
  __wasi_fd_t pre = preopen_fd(dir), fds[4096];
  check_ok(raw_open(pre, "f.txt", 0, __WASI_OFLAGS_CREAT, &fds[0]), "create f.txt");
  int n = 1, err = 0;
  while (n < 4096 && (err = raw_open(pre, "f.txt", 0, 0, &fds[n])) == 0) n++;
  printf("open refused: %s\n", errno_name(err));
  // stdin, stdout, stderr and the preopen count too: at most `limit` fds in all.
  check(limit > 0 && n + 4 <= limit && n + 4 >= limit - 1, "refused at the limit");
  printf("refused at the limit\n");
  for (int i = 0; i < n; i++) check_ok(__wasi_fd_close(fds[i]), "close");
  check_ok(raw_open(pre, "f.txt", 0, 0, &fds[0]), "open after closing");
  printf("open after closing ok\n");
  return 0;
}
