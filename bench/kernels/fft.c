/* Iterative radix-2 complex FFT of 2^18 points: forward then inverse, repeated. Twiddles come from the
 * half-angle formulas (sqrt only, no libm sin/cos, whose results differ between glibc and wasi-libc).
 * size = forward+inverse round trips. Self-checks that the round trip restores the input. */
#include <math.h>

#include "kernel.h"

#define LOGN 18
#define N (1 << LOGN)

static double twr[N / 2], twi[N / 2];

/* twr/twi[k] = exp(-2*pi*i*k/N) for k < N/2, built bit by bit from the roots exp(-2*pi*i*2^b/N). */
static void make_twiddles(void) {
  double rc[LOGN], rs[LOGN];
  rc[LOGN - 1] = -1.0; /* angle pi */
  rs[LOGN - 1] = 0.0;
  for (int b = LOGN - 2; b >= 0; b--) {
    rc[b] = sqrt((1.0 + rc[b + 1]) / 2.0);
    rs[b] = sqrt((1.0 - rc[b + 1]) / 2.0);
  }
  twr[0] = 1.0;
  twi[0] = 0.0;
  for (int b = 0; b < LOGN - 1; b++) {
    long base = 1L << b;
    for (long k = 0; k < base; k++) {
      double c = rc[b], s = -rs[b];
      twr[base + k] = twr[k] * c - twi[k] * s;
      twi[base + k] = twr[k] * s + twi[k] * c;
    }
  }
}

static void fft(double *re, double *im, int inverse) {
  for (long i = 1, j = 0; i < N; i++) {
    long bit = N >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      double t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  for (long len = 2; len <= N; len <<= 1) {
    long half = len >> 1, step = N / len;
    for (long i = 0; i < N; i += len) {
      for (long k = 0; k < half; k++) {
        double wr = twr[k * step], wi = inverse ? -twi[k * step] : twi[k * step];
        double xr = re[i + k + half], xi = im[i + k + half];
        double tr = xr * wr - xi * wi, ti = xr * wi + xi * wr;
        re[i + k + half] = re[i + k] - tr;
        im[i + k + half] = im[i + k] - ti;
        re[i + k] += tr;
        im[i + k] += ti;
      }
    }
  }
  if (inverse)
    for (long i = 0; i < N; i++) {
      re[i] /= N;
      im[i] /= N;
    }
}

int main(int argc, char **argv) {
  long rounds = kernel_size(argc, argv, 95);
  double *re = malloc(sizeof(double) * N), *im = malloc(sizeof(double) * N);
  double *re0 = malloc(sizeof(double) * N);
  if (!re || !im || !re0) return 1;
  make_twiddles();
  uint64_t s = 31337, h = FNV_INIT;
  for (long i = 0; i < N; i++) {
    re[i] = re0[i] = rng_unit(&s) - 0.5;
    im[i] = 0.0;
  }
  for (long r = 0; r < rounds; r++) {
    fft(re, im, 0);
    h = fnv1a(h, re, sizeof(double) * 64);
    fft(re, im, 1);
  }
  for (long i = 0; i < N; i++)
    if (fabs(re[i] - re0[i]) > 1e-9 || fabs(im[i]) > 1e-9) {
      fprintf(stderr, "fft: round trip error at %ld\n", i);
      return 1;
    }
  h = fnv1a(h, re, sizeof(double) * N);
  print_checksum("fft", rounds, h);
  free(re);
  free(im);
  free(re0);
  return 0;
}
