/* Shared by every kernel: reads the size argument and prints the checksum line that bench/run.ts
 * compares between the native and the Wasm build. Only IEEE-exact operations (+ - * / sqrt) are used
 * on doubles, so both builds produce bit-identical results; the checksum hashes the raw bits. */
#ifndef TWINE_BENCH_KERNEL_H
#define TWINE_BENCH_KERNEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* argv[1] if given (must be a positive integer), else the full-size default. */
static inline long kernel_size(int argc, char **argv, long full) {
  if (argc < 2) return full;
  char *end = NULL;
  long n = strtol(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || n <= 0) {
    fprintf(stderr, "usage: %s [size > 0]\n", argv[0]);
    exit(2);
  }
  return n;
}

/* FNV-1a 64 over raw bytes: cheap, and any single differing bit changes it. */
static inline uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = (const unsigned char *)data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

/* xorshift64*: deterministic input data, identical on every target. */
static inline uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform double in [0, 1) from the top 53 bits. */
static inline double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static inline void print_checksum(const char *name, long size, uint64_t h) {
  printf("%s size=%ld checksum=%016llx\n", name, size, (unsigned long long)h);
}

#endif
