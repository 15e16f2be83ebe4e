/* Dense matrix multiply C = A * B (n x n doubles), i-k-j order so the inner loop streams rows.
 * size = n. */
#include "kernel.h"

int main(int argc, char **argv) {
  long n = kernel_size(argc, argv, 1440);
  double *a = malloc(sizeof(double) * n * n);
  double *b = malloc(sizeof(double) * n * n);
  double *c = calloc((size_t)(n * n), sizeof(double));
  if (!a || !b || !c) return 1;
  uint64_t s = 42;
  for (long i = 0; i < n * n; i++) a[i] = rng_unit(&s) - 0.5;
  for (long i = 0; i < n * n; i++) b[i] = rng_unit(&s) - 0.5;
  for (long i = 0; i < n; i++) {
    double *ci = c + i * n;
    for (long k = 0; k < n; k++) {
      double aik = a[i * n + k];
      const double *bk = b + k * n;
      for (long j = 0; j < n; j++) ci[j] += aik * bk[j];
    }
  }
  print_checksum("matmul", n, fnv1a(FNV_INIT, c, sizeof(double) * n * n));
  free(a);
  free(b);
  free(c);
  return 0;
}
