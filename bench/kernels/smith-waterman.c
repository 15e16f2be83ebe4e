/* Smith-Waterman local alignment score (match +2, mismatch -1, linear gap -1) of two pseudo-random
 * DNA sequences of length n, two-row dynamic programme. size = n. */
#include "kernel.h"

int main(int argc, char **argv) {
  long n = kernel_size(argc, argv, 38000);
  unsigned char *a = malloc((size_t)n), *b = malloc((size_t)n);
  int32_t *prev = calloc((size_t)n + 1, sizeof(int32_t)), *cur = calloc((size_t)n + 1, sizeof(int32_t));
  if (!a || !b || !prev || !cur) return 1;
  uint64_t s = 5;
  for (long i = 0; i < n; i++) a[i] = "ACGT"[rng_next(&s) >> 62];
  for (long i = 0; i < n; i++) b[i] = "ACGT"[rng_next(&s) >> 62];
  int32_t best = 0;
  uint64_t h = FNV_INIT;
  for (long i = 1; i <= n; i++) {
    unsigned char ai = a[i - 1];
    cur[0] = 0;
    for (long j = 1; j <= n; j++) {
      int32_t diag = prev[j - 1] + (ai == b[j - 1] ? 2 : -1);
      int32_t up = prev[j] - 1, left = cur[j - 1] - 1;
      int32_t v = diag > up ? diag : up;
      v = v > left ? v : left;
      v = v > 0 ? v : 0;
      cur[j] = v;
      best = v > best ? v : best;
    }
    int32_t *t = prev;
    prev = cur;
    cur = t;
    if ((i & 1023) == 0) h = fnv1a(h, prev, sizeof(int32_t) * ((size_t)n + 1));
  }
  h = fnv1a(h, &best, sizeof best);
  print_checksum("smith-waterman", n, h);
  free(a);
  free(b);
  free(prev);
  free(cur);
  return 0;
}
