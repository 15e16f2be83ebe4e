// Sleeps in a loop without using the CPU, for --timeout: the runtime must stop a guest that is blocked
// in poll_oneoff, not only one that spins.
#include <stdio.h>
#include <time.h>

int main(void) {
  printf("sleeping\n");
  fflush(stdout);
  struct timespec hour = {3600, 0};
  for (;;) nanosleep(&hour, NULL);
}
