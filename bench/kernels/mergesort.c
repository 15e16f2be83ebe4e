/* Top-down merge sort of 1 Mi pseudo-random 32-bit keys, repeated with fresh data each round.
 * size = rounds. Each round is checked sorted and folded into the checksum. */
#include "kernel.h"

#define N (1 << 20)

static void merge_sort(uint32_t *a, uint32_t *tmp, long lo, long hi) {
  if (hi - lo < 32) {
    for (long i = lo + 1; i < hi; i++) {
      uint32_t x = a[i];
      long j = i - 1;
      while (j >= lo && a[j] > x) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = x;
    }
    return;
  }
  long mid = lo + (hi - lo) / 2;
  merge_sort(a, tmp, lo, mid);
  merge_sort(a, tmp, mid, hi);
  long i = lo, j = mid, k = lo;
  while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
  while (i < mid) tmp[k++] = a[i++];
  while (j < hi) tmp[k++] = a[j++];
  memcpy(a + lo, tmp + lo, sizeof(uint32_t) * (hi - lo));
}

int main(int argc, char **argv) {
  long rounds = kernel_size(argc, argv, 28);
  uint32_t *a = malloc(sizeof(uint32_t) * N);
  uint32_t *tmp = malloc(sizeof(uint32_t) * N);
  if (!a || !tmp) return 1;
  uint64_t s = 12345, h = FNV_INIT;
  for (long r = 0; r < rounds; r++) {
    for (long i = 0; i < N; i++) a[i] = (uint32_t)(rng_next(&s) >> 32);
    merge_sort(a, tmp, 0, N);
    for (long i = 1; i < N; i++)
      if (a[i - 1] > a[i]) {
        fprintf(stderr, "mergesort: not sorted at %ld\n", i);
        return 1;
      }
    h = fnv1a(h, a, sizeof(uint32_t) * N);
  }
  print_checksum("mergesort", rounds, h);
  free(a);
  free(tmp);
  return 0;
}
