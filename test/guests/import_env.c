// Imports env.foo, which no WASI runtime provides: `twine run` must refuse it before running.
#include <stdio.h>

__attribute__((import_module("env"), import_name("foo"))) int foo(int);

int main(void) {
  printf("foo %d\n", foo(1));
  return 0;
}
