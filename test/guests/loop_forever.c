// Spins forever, for --timeout. The volatile counter keeps the loop observable to the compiler.
#include <stdio.h>

int main(void) {
  volatile unsigned long n = 0;
  printf("looping\n");
  fflush(stdout);
  for (;;) n++;
}
