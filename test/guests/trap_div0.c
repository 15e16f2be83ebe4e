// Integer division by zero: i32.div_s traps in Wasm.
#include <stdio.h>

int main(void) {
  volatile int a = 7, b = 0;
  printf("before trap\n");
  fflush(stdout);
  printf("quotient %d\n", a / b);
  return 0;
}
