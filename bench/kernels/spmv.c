/* Sparse matrix-vector product (CSR, 2^18 rows, 16 pseudo-random non-zeros per row): repeated
 * y = A x, x = y / max|y| (power-iteration style, so values stay bounded). Indirect loads stress the
 * memory system and Wasm's bounds handling. size = iterations. */
#include <math.h>

#include "kernel.h"

#define ROWS (1 << 18)
#define NNZ_ROW 16

int main(int argc, char **argv) {
  long iters = kernel_size(argc, argv, 420);
  int32_t *rowp = malloc(sizeof(int32_t) * (ROWS + 1));
  int32_t *col = malloc(sizeof(int32_t) * ROWS * NNZ_ROW);
  double *val = malloc(sizeof(double) * ROWS * NNZ_ROW);
  double *x = malloc(sizeof(double) * ROWS), *y = malloc(sizeof(double) * ROWS);
  if (!rowp || !col || !val || !x || !y) return 1;
  uint64_t s = 8;
  for (long r = 0; r <= ROWS; r++) rowp[r] = (int32_t)(r * NNZ_ROW);
  for (long r = 0; r < ROWS; r++)
    for (int k = 0; k < NNZ_ROW; k++) {
      /* half the entries near the diagonal, half anywhere: some locality, some cache misses */
      long c = k < NNZ_ROW / 2 ? (r + (long)(rng_next(&s) >> 58) - 32) & (ROWS - 1)
                               : (long)(rng_next(&s) >> (64 - 18));
      col[r * NNZ_ROW + k] = (int32_t)c;
      val[r * NNZ_ROW + k] = rng_unit(&s);
    }
  for (long r = 0; r < ROWS; r++) x[r] = 1.0;
  uint64_t h = FNV_INIT;
  for (long t = 0; t < iters; t++) {
    double mx = 0.0;
    for (long r = 0; r < ROWS; r++) {
      double acc = 0.0;
      for (int32_t k = rowp[r]; k < rowp[r + 1]; k++) acc += val[k] * x[col[k]];
      y[r] = acc;
      mx = fabs(acc) > mx ? fabs(acc) : mx;
    }
    for (long r = 0; r < ROWS; r++) x[r] = y[r] / mx;
    h = fnv1a(h, &mx, sizeof mx);
  }
  h = fnv1a(h, x, sizeof(double) * ROWS);
  print_checksum("spmv", iters, h);
  free(rowp);
  free(col);
  free(val);
  free(x);
  free(y);
  return 0;
}
