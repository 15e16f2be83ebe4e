/* All-pairs gravitational n-body (256 bodies, softened), symplectic Euler steps.
 * size = steps. Only + - * / sqrt, so native and Wasm agree bit for bit. */
#include <math.h>

#include "kernel.h"

#define NB 256

int main(int argc, char **argv) {
  long steps = kernel_size(argc, argv, 8000);
  static double x[NB], y[NB], z[NB], vx[NB], vy[NB], vz[NB], m[NB];
  uint64_t s = 2024;
  for (int i = 0; i < NB; i++) {
    x[i] = rng_unit(&s) * 2 - 1;
    y[i] = rng_unit(&s) * 2 - 1;
    z[i] = rng_unit(&s) * 2 - 1;
    vx[i] = (rng_unit(&s) - 0.5) * 0.01;
    vy[i] = (rng_unit(&s) - 0.5) * 0.01;
    vz[i] = (rng_unit(&s) - 0.5) * 0.01;
    m[i] = 0.5 + rng_unit(&s);
  }
  const double dt = 0.001, eps2 = 0.01;
  for (long t = 0; t < steps; t++) {
    for (int i = 0; i < NB; i++) {
      double ax = 0, ay = 0, az = 0;
      for (int j = 0; j < NB; j++) {
        double dx = x[j] - x[i], dy = y[j] - y[i], dz = z[j] - z[i];
        double r2 = dx * dx + dy * dy + dz * dz + eps2;
        double inv = 1.0 / (r2 * sqrt(r2));
        ax += m[j] * dx * inv;
        ay += m[j] * dy * inv;
        az += m[j] * dz * inv;
      }
      vx[i] += dt * ax;
      vy[i] += dt * ay;
      vz[i] += dt * az;
    }
    for (int i = 0; i < NB; i++) {
      x[i] += dt * vx[i];
      y[i] += dt * vy[i];
      z[i] += dt * vz[i];
    }
  }
  uint64_t h = FNV_INIT;
  h = fnv1a(h, x, sizeof x);
  h = fnv1a(h, y, sizeof y);
  h = fnv1a(h, z, sizeof z);
  h = fnv1a(h, vx, sizeof vx);
  print_checksum("nbody", steps, h);
  return 0;
}
