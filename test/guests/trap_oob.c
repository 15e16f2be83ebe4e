// Loads from just past the end of linear memory: Wasm bounds checks must trap.
#include <stdint.h>
#include <stdio.h>

int main(void) {
  printf("before trap\n");
  fflush(stdout);
  uintptr_t end = __builtin_wasm_memory_size(0) * 65536;
  volatile int *p = (volatile int *)(end + 16);
  printf("read %d\n", *p);
  return 0;
}
