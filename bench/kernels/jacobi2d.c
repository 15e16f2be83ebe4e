/* 2-D Jacobi stencil: 5-point average on an n x n grid with fixed borders, ping-ponging two grids.
 * size = number of sweeps (grid is 1024 x 1024). */
#include "kernel.h"

#define N 1024

int main(int argc, char **argv) {
  long steps = kernel_size(argc, argv, 2200);
  double *u = malloc(sizeof(double) * N * N);
  double *v = malloc(sizeof(double) * N * N);
  if (!u || !v) return 1;
  uint64_t s = 7;
  for (long i = 0; i < N * N; i++) u[i] = rng_unit(&s);
  memcpy(v, u, sizeof(double) * N * N);
  for (long t = 0; t < steps; t++) {
    for (long i = 1; i < N - 1; i++) {
      const double *up = u + (i - 1) * N, *mid = u + i * N, *dn = u + (i + 1) * N;
      double *out = v + i * N;
      for (long j = 1; j < N - 1; j++)
        out[j] = 0.2 * (mid[j] + mid[j - 1] + mid[j + 1] + up[j] + dn[j]);
    }
    double *tmp = u;
    u = v;
    v = tmp;
  }
  print_checksum("jacobi2d", steps, fnv1a(FNV_INIT, u, sizeof(double) * N * N));
  free(u);
  free(v);
  return 0;
}
