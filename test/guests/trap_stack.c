// guest-flags: -Wl,--stack-first -Wl,-z,stack-size=65536
// Unbounded recursion that uses both the engine's native stack and the shadow stack in linear memory.
// With the shadow stack first in memory, running it out wraps the stack pointer below address 0, so
// either way the run ends in a trap, never in silent corruption of the heap.
#include <stdio.h>

#pragma clang diagnostic ignored "-Winfinite-recursion"

__attribute__((noinline)) static int down(int n) {
  volatile char frame[64];
  frame[n & 63] = (char)n;
  return down(n + 1) + frame[(n * 7) & 63];
}

int main(void) {
  printf("before trap\n");
  fflush(stdout);
  printf("depth %d\n", down(0));
  return 0;
}
