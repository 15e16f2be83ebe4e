// Allocates 1 MiB blocks until malloc returns NULL. argv[1] is the memory cap in MiB the test gave the
// runtime: the guest must get NULL (memory.grow refused), not a trap, and close to the cap. Afterwards
// freed memory is reusable.
#include "guest.h"

#define MIB (1024 * 1024)

int main(int argc, char **argv) {
  int cap = argc > 1 ? atoi(argv[1]) : 0;
  static void *blocks[4096];
  // Stop a little past the cap: a runtime that ignores it must fail here, not eat 4 GiB of host RAM.
  const int limit = cap > 0 ? cap + 8 : 4096;
  int n = 0;
  while (n < limit) {
    void *p = malloc(MIB);
    if (p == NULL) break;
    memset(p, 0xA5, MIB); // touch it: the pages must really exist
    blocks[n++] = p;
  }
  check(n < limit, "malloc returned NULL");
  printf("malloc returned NULL\n");
  // Static data, stack and allocator overhead take a little of the cap.
  if (cap > 0) {
    check(n <= cap, "no more than the cap");
    check(n >= cap - 3, "close to the cap");
    printf("allocated within cap\n");
  }
  for (int i = 0; i < n; i++) free(blocks[i]);
  void *again = malloc(MIB);
  check(again != NULL, "malloc after free");
  printf("reuse after free ok\n");
  return 0;
}
