// Prints its arguments (after argv[0]) and its whole environment, in order, so a test can check that
// exactly the given values arrive and nothing of the host environment leaks in.
#include "guest.h"

extern char **environ;

int main(int argc, char **argv) {
  printf("argc=%d\n", argc);
  printf("argv0 %s\n", argv[0] != NULL && argv[0][0] != 0 ? "set" : "empty");
  for (int i = 1; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
  int n = 0;
  for (char **e = environ; *e != NULL; e++, n++) printf("env[%d]=[%s]\n", n, *e);
  printf("envc=%d\n", n);
  // The raw size calls must agree with what libc received.
  __wasi_size_t argc2, argv_bytes, envc2, env_bytes;
  check_ok(__wasi_args_sizes_get(&argc2, &argv_bytes), "args_sizes_get");
  check_ok(__wasi_environ_sizes_get(&envc2, &env_bytes), "environ_sizes_get");
  check((int)argc2 == argc && (int)envc2 == n, "sizes agree");
  printf("sizes ok\n");
  return 0;
}
