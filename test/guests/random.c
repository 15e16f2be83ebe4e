// random_get fills buffers with bytes that differ between calls and look uniform; a zero-length
// request succeeds.
#include <unistd.h>
#include "guest.h"

static uint8_t big[1 << 20];

int main(void) {
  uint8_t a[32], b[32], zero[32] = {0};
  check_ok(__wasi_random_get(a, sizeof a), "random_get a");
  check_ok(__wasi_random_get(b, sizeof b), "random_get b");
  check(memcmp(a, b, sizeof a) != 0, "two draws differ");
  check(memcmp(a, zero, sizeof a) != 0, "not all zero");
  printf("random_get ok\n");

  check(getentropy(a, sizeof a) == 0, "getentropy");
  check(memcmp(a, b, sizeof a) != 0, "getentropy differs");
  printf("getentropy ok\n");

  check_ok(__wasi_random_get(big, sizeof big), "random_get 1 MiB");
  // Each byte value is expected 4096 times; a working generator stays well inside [2048, 8192].
  unsigned counts[256] = {0};
  for (size_t i = 0; i < sizeof big; i++) counts[big[i]]++;
  for (int v = 0; v < 256; v++) check(counts[v] > 2048 && counts[v] < 8192, "byte histogram");
  printf("1 MiB histogram ok\n");

  report("random_get zero length", __wasi_random_get(a, 0));
  return 0;
}
