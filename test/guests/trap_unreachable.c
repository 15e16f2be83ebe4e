// Executes `unreachable` after printing a line: the runtime must report a trap, not a crash.
#include <stdio.h>

int main(void) {
  printf("before trap\n");
  fflush(stdout);
  __builtin_trap();
}
