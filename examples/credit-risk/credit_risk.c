// Portfolio credit risk for a lending book, as a data owner would run it inside Twine over an encrypted
// volume: expected loss per loan, unexpected loss, Monte-Carlo value-at-risk and expected shortfall of
// the portfolio loss, and concentration by borrower.
//
//   credit_risk [--input /data/loans.csv] [--output /data/report.json]
//               [--trials 10000] [--seed 42] [--rho 0.12]
//
// Input: CSV with the header `loan_id,borrower_id,exposure,pd,lgd`. Every field is checked: ids are 1-64
// characters of [A-Za-z0-9._-], loan ids are unique, exposure (EAD) is a plain decimal in [0, 1e15],
// pd and lgd are plain decimals in [0, 1]. A bad line stops the program with its line number on stderr.
//
// Model: one-factor Gaussian copula (Vasicek). Loan i defaults when sqrt(rho)*Z + sqrt(1-rho)*e_i <
// PhiInv(pd_i), with Z (systematic) and e_i (idiosyncratic) independent standard normals; a default loses
// EAD*LGD (LGD is deterministic). Given Z, loan i defaults with probability
// p_i(Z) = Phi((PhiInv(pd_i) - sqrt(rho)*Z) / sqrt(1-rho)), so a trial draws Z (Box-Muller) and then one
// uniform per loan compared with p_i(Z): the same model, with no normal draw per loan. rho = 0 gives
// independent defaults. The PRNG is xoshiro256** seeded by splitmix64: the output is a function of the
// input and the arguments only.
//
// Outputs: a JSON report (numbers printed with the fewest digits that read back as the same double)
// and a short human summary on stdout. Exit status: 0 ok, 1 I/O error, 2 bad input or arguments,
// 3 out of memory.
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_IO 1
#define EXIT_INPUT 2
#define EXIT_NOMEM 3

#define MAX_LINE 4096
#define MAX_ID 64
#define MAX_LOANS 5000000u
#define MAX_TRIALS 10000000u
#define MAX_EXPOSURE 1e15
#define TOP_N 10
#define CHUNKS 256

static const char HEADER[] = "loan_id,borrower_id,exposure,pd,lgd";

// Tail levels as exact fractions of 10000, so the quantile index is integer arithmetic.
static const unsigned TAIL_LEVELS[] = {9500, 9900, 9990};
#define N_LEVELS (sizeof TAIL_LEVELS / sizeof TAIL_LEVELS[0])

static const char *input_path = "/data/loans.csv";

static void die_nomem(void) {
  fprintf(stderr, "credit_risk: out of memory\n");
  exit(EXIT_NOMEM);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n == 0 ? 1 : n);
  if (q == NULL) die_nomem();
  return q;
}

static void bad_line(unsigned long line, const char *fmt, const char *what) {
  fprintf(stderr, "credit_risk: %s:%lu: ", input_path, line);
  fprintf(stderr, fmt, what);
  fputc('\n', stderr);
  exit(EXIT_INPUT);
}

static void usage(const char *why, const char *arg) {
  fprintf(stderr, "credit_risk: %s%s\n", why, arg);
  fprintf(stderr, "usage: credit_risk [--input CSV] [--output JSON] [--trials N] [--seed S] [--rho R]\n");
  exit(EXIT_INPUT);
}

// ---- strict number syntax: digits[.digits][e[+-]digits], no sign, hex, inf or nan (strtod takes all) ----

static int parse_decimal(const char *s, double *out) {
  const char *p = s;
  if (*p < '0' || *p > '9') return 0;
  while (*p >= '0' && *p <= '9') p++;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p != '\0' || p - s > 64) return 0;
  errno = 0;
  double v = strtod(s, NULL);
  if (!isfinite(v)) return 0;
  *out = v;
  return 1;
}

static int parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (*s == '\0') return 0;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return 0;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_ID) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
             c == '_' || c == '-';
    if (!ok) return 0;
  }
  return 1;
}

// ---- string interning: ids live in one arena (offsets survive realloc); open addressing on top ----

typedef struct {
  char *bytes;
  size_t len, cap;
} Arena;

static size_t arena_add(Arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  if (a->len + n > a->cap) {
    a->cap = (a->len + n) * 2;
    a->bytes = xrealloc(a->bytes, a->cap);
  }
  memcpy(a->bytes + a->len, s, n);
  a->len += n;
  return a->len - n;
}

typedef struct {
  uint32_t *slots; // entry index + 1; 0 = empty
  size_t cap;      // a power of two, kept at least twice the count
  size_t count;
  size_t *names; // arena offset of each entry's name
} Table;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (; *s != '\0'; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void table_grow(Table *t, const Arena *a) {
  size_t cap = t->cap == 0 ? 1024 : t->cap * 2;
  uint32_t *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) die_nomem();
  for (size_t e = 0; e < t->count; e++) {
    size_t i = hash_str(a->bytes + t->names[e]) & (cap - 1);
    while (slots[i] != 0) i = (i + 1) & (cap - 1);
    slots[i] = (uint32_t)(e + 1);
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
}

/** The entry named `s`, added if new (`*added` says which). */
static size_t table_intern(Table *t, Arena *a, const char *s, int *added) {
  if (2 * (t->count + 1) > t->cap) table_grow(t, a);
  size_t i = hash_str(s) & (t->cap - 1);
  while (t->slots[i] != 0) {
    size_t e = t->slots[i] - 1;
    if (strcmp(a->bytes + t->names[e], s) == 0) {
      *added = 0;
      return e;
    }
    i = (i + 1) & (t->cap - 1);
  }
  t->names = xrealloc(t->names, (t->count + 1) * sizeof *t->names);
  t->names[t->count] = arena_add(a, s);
  t->slots[i] = (uint32_t)(t->count + 1);
  *added = 1;
  return t->count++;
}

// ---- the book ----

typedef struct {
  size_t n, cap;
  size_t *loan_name;     // arena offsets
  unsigned long *line;   // input line of each loan (for duplicate messages)
  uint32_t *borrower;    // borrower index
  uint32_t *grade;       // index of the loan's distinct pd
  double *ead, *pd, *lgd;
} Loans;

typedef struct {
  size_t n;
  double *exposure; // summed in input order
} Borrowers;

typedef struct {
  size_t n, cap;
  double *pd;
  double *threshold; // PhiInv(pd); unused for pd 0 or 1
  double *weight;    // sum of EAD*LGD over the grade's loans
  double *weight2;   // sum of (EAD*LGD)^2
} Grades;

static size_t grade_of(Grades *g, double pd) {
  // Books have few distinct PDs (rating grades), and the simulation does one Phi per grade per trial;
  // the grade is found by hashing the value's bits, so a book where every loan has its own PD still loads fast.
  static uint32_t *slots;
  static size_t cap;
  uint64_t bits;
  memcpy(&bits, &pd, sizeof bits);
  if (2 * (g->n + 1) > cap) {
    size_t ncap = cap == 0 ? 256 : cap * 2;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL) die_nomem();
    for (size_t e = 0; e < g->n; e++) {
      uint64_t b;
      memcpy(&b, &g->pd[e], sizeof b);
      size_t i = (size_t)((b * 0x9E3779B97F4A7C15ull) >> 32) & (ncap - 1);
      while (ns[i] != 0) i = (i + 1) & (ncap - 1);
      ns[i] = (uint32_t)(e + 1);
    }
    free(slots);
    slots = ns;
    cap = ncap;
  }
  size_t i = (size_t)((bits * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
  while (slots[i] != 0) {
    size_t e = slots[i] - 1;
    if (g->pd[e] == pd) return e;
    i = (i + 1) & (cap - 1);
  }
  if (g->n == g->cap) {
    g->cap = g->cap == 0 ? 16 : g->cap * 2;
    g->pd = xrealloc(g->pd, g->cap * sizeof *g->pd);
    g->threshold = xrealloc(g->threshold, g->cap * sizeof *g->threshold);
    g->weight = xrealloc(g->weight, g->cap * sizeof *g->weight);
    g->weight2 = xrealloc(g->weight2, g->cap * sizeof *g->weight2);
  }
  g->pd[g->n] = pd;
  g->weight[g->n] = 0;
  g->weight2[g->n] = 0;
  slots[i] = (uint32_t)(g->n + 1);
  return g->n++;
}

static void loans_push(Loans *l) {
  if (l->n < l->cap) return;
  l->cap = l->cap == 0 ? 1024 : l->cap * 2;
  l->loan_name = xrealloc(l->loan_name, l->cap * sizeof *l->loan_name);
  l->line = xrealloc(l->line, l->cap * sizeof *l->line);
  l->borrower = xrealloc(l->borrower, l->cap * sizeof *l->borrower);
  l->grade = xrealloc(l->grade, l->cap * sizeof *l->grade);
  l->ead = xrealloc(l->ead, l->cap * sizeof *l->ead);
  l->pd = xrealloc(l->pd, l->cap * sizeof *l->pd);
  l->lgd = xrealloc(l->lgd, l->cap * sizeof *l->lgd);
}

/** Splits `s` at commas into exactly `n` fields (in place); 0 if the count differs. */
static int split_fields(char *s, char **fields, int n) {
  int k = 0;
  fields[k++] = s;
  for (char *p = s; *p != '\0'; p++) {
    if (*p != ',') continue;
    if (k == n) return 0;
    *p = '\0';
    fields[k++] = p + 1;
  }
  return k == n;
}

static void read_book(FILE *f, Arena *arena, Loans *loans, Table *loan_ids, Table *borrower_ids,
                      Borrowers *borrowers, Grades *grades) {
  char *buf = NULL;
  size_t bufcap = 0;
  unsigned long line = 0;
  for (;;) {
    errno = 0;
    ssize_t got = getline(&buf, &bufcap, f);
    if (got < 0) {
      if (ferror(f)) {
        fprintf(stderr, "credit_risk: cannot read %s: %s\n", input_path, strerror(errno));
        exit(EXIT_IO);
      }
      break;
    }
    line++;
    size_t len = (size_t)got;
    if (len > MAX_LINE) bad_line(line, "line longer than %s bytes", "4096");
    if (strlen(buf) != len) bad_line(line, "%s", "NUL byte in line");
    if (len > 0 && buf[len - 1] == '\n') buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r') buf[--len] = '\0';
    char *text = buf;
    if (line == 1) {
      // A UTF-8 byte-order mark is what spreadsheets put there; it is not part of the header.
      if (strncmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3;
      if (strcmp(text, HEADER) != 0) bad_line(line, "expected the header \"%s\"", HEADER);
      continue;
    }
    if (len == 0) bad_line(line, "%s", "empty line");
    char *field[5];
    if (!split_fields(text, field, 5)) bad_line(line, "expected 5 comma-separated fields (%s)", HEADER);
    if (!valid_id(field[0])) bad_line(line, "bad loan_id \"%s\": 1-64 of A-Z a-z 0-9 . _ -", field[0]);
    if (!valid_id(field[1])) bad_line(line, "bad borrower_id \"%s\": 1-64 of A-Z a-z 0-9 . _ -", field[1]);
    double ead, pd, lgd;
    if (!parse_decimal(field[2], &ead) || ead > MAX_EXPOSURE)
      bad_line(line, "bad exposure \"%s\": a plain decimal number in [0, 1e15]", field[2]);
    if (!parse_decimal(field[3], &pd) || pd > 1)
      bad_line(line, "bad pd \"%s\": a plain decimal number in [0, 1]", field[3]);
    if (!parse_decimal(field[4], &lgd) || lgd > 1)
      bad_line(line, "bad lgd \"%s\": a plain decimal number in [0, 1]", field[4]);
    if (loans->n == MAX_LOANS) bad_line(line, "more than %s loans", "5000000");

    int added;
    size_t loan = table_intern(loan_ids, arena, field[0], &added);
    if (!added) {
      fprintf(stderr, "credit_risk: %s:%lu: duplicate loan_id \"%s\" (first on line %lu)\n", input_path, line,
              field[0], loans->line[loan]);
      exit(EXIT_INPUT);
    }
    size_t b = table_intern(borrower_ids, arena, field[1], &added);
    if (added) {
      borrowers->exposure = xrealloc(borrowers->exposure, borrower_ids->count * sizeof(double));
      borrowers->exposure[b] = 0;
      borrowers->n = borrower_ids->count;
    }
    borrowers->exposure[b] += ead;

    size_t g = grade_of(grades, pd);
    double w = ead * lgd;
    grades->weight[g] += w;
    grades->weight2[g] += w * w;

    loans_push(loans);
    size_t i = loans->n++;
    loans->loan_name[i] = loan_ids->names[loan];
    loans->line[i] = line;
    loans->borrower[i] = (uint32_t)b;
    loans->grade[i] = (uint32_t)g;
    loans->ead[i] = ead;
    loans->pd[i] = pd;
    loans->lgd[i] = lgd;
  }
  free(buf);
  if (line == 0) bad_line(1, "expected the header \"%s\" (the file is empty)", HEADER);
  if (loans->n == 0) bad_line(line, "%s", "no loans after the header");
}

// ---- normal distribution ----

static double norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/** Inverse of norm_cdf on (0, 1): Acklam's rational approximation, then one Halley step (~1e-15). */
static double norm_inv(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    double q = sqrt(-2 * log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    double q = sqrt(-2 * log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  double e = norm_cdf(x) - p;
  double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

/** P(default | Z = z) for a grade: p itself when rho = 0, and exactly 0 or 1 for pd 0 or 1. */
static double conditional_pd(const Grades *g, size_t k, double z, double rho) {
  double pd = g->pd[k];
  if (rho == 0 || pd == 0 || pd == 1) return pd;
  return norm_cdf((g->threshold[k] - sqrt(rho) * z) / sqrt(1 - rho));
}

/**
 * Variance of the portfolio loss under the model, by the law of total variance over the factor:
 * Var L = E[Var(L|Z)] + Var(E[L|Z]), integrated by Simpson's rule on [-9, 9] (the normal mass outside
 * is below 1e-18). With rho = 0 it is the exact sum of (EAD*LGD)^2 * pd * (1-pd), in input order.
 */
static double loss_variance(const Loans *l, const Grades *g, double rho, double el) {
  if (rho == 0) {
    double v = 0;
    for (size_t i = 0; i < l->n; i++) {
      double w = l->ead[i] * l->lgd[i];
      v += w * w * l->pd[i] * (1 - l->pd[i]);
    }
    return v;
  }
  // p_i(z) changes on a scale of sqrt((1-rho)/rho) in z: the step follows it (an even count for Simpson).
  const double lo = -9, hi = 9, scale = sqrt((1 - rho) / rho);
  const int steps = 2 * (int)ceil((hi - lo) / (2 * fmin(0.05, 0.1 * scale)));
  const double h = (hi - lo) / steps;
  double total = 0, mass = 0;
  for (int s = 0; s <= steps; s++) {
    double z = lo + s * h;
    double coef = (s == 0 || s == steps) ? 1 : (s % 2 == 1 ? 4 : 2);
    double density = exp(-z * z / 2) / sqrt(2 * M_PI);
    double mean = 0, var = 0;
    for (size_t k = 0; k < g->n; k++) {
      double p = conditional_pd(g, k, z, rho);
      mean += g->weight[k] * p;
      var += g->weight2[k] * p * (1 - p);
    }
    total += coef * density * (var + (mean - el) * (mean - el));
    mass += coef * density;
  }
  return total / mass;
}

// ---- PRNG: xoshiro256** seeded with splitmix64 ----

typedef struct {
  uint64_t s[4];
} Rng;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(Rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/** Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/** Standard normal by Box-Muller (the cosine half; 1 - u keeps the log's argument in (0, 1]). */
static double rng_normal(Rng *r) {
  double u1 = 1.0 - rng_uniform(r);
  double u2 = rng_uniform(r);
  return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static const Grades *sort_grades; // qsort has no context argument

static int cmp_grade(const void *a, const void *b) {
  double x = sort_grades->pd[*(const uint32_t *)a], y = sort_grades->pd[*(const uint32_t *)b];
  return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

// ---- output ----

/** The fewest significant digits (15..17) that read back as exactly `v`. */
static void put_num(FILE *f, double v) {
  char s[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
  fputs(s, f);
}

static const Borrowers *sort_borrowers; // qsort has no context argument

/** Larger exposure first; ties in order of first appearance, so the ranking is deterministic. */
static int cmp_borrower(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  double ex = sort_borrowers->exposure[x], ey = sort_borrowers->exposure[y];
  if (ex != ey) return ex > ey ? -1 : 1;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *output_path = "/data/report.json";
  uint64_t trials = 10000, seed = 42;
  double rho = 0.12;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--help") == 0) {
      printf("usage: credit_risk [--input CSV] [--output JSON] [--trials N] [--seed S] [--rho R]\n");
      return 0;
    }
    if (i + 1 >= argc) usage("missing value or unknown flag: ", flag);
    const char *value = argv[++i];
    if (strcmp(flag, "--input") == 0) {
      input_path = value;
    } else if (strcmp(flag, "--output") == 0) {
      output_path = value;
    } else if (strcmp(flag, "--trials") == 0) {
      if (!parse_u64(value, &trials) || trials == 0 || trials > MAX_TRIALS)
        usage("--trials expects an integer in [1, 10000000], got ", value);
    } else if (strcmp(flag, "--seed") == 0) {
      if (!parse_u64(value, &seed)) usage("--seed expects an integer in [0, 2^64), got ", value);
    } else if (strcmp(flag, "--rho") == 0) {
      // Above 0.99 the factor integral needs ever finer steps, and no lending book is that correlated.
      if (!parse_decimal(value, &rho) || rho > 0.99) usage("--rho expects a decimal in [0, 0.99], got ", value);
    } else {
      usage("unknown flag: ", flag);
    }
  }

  FILE *in = fopen(input_path, "r");
  if (in == NULL) {
    fprintf(stderr, "credit_risk: cannot open %s: %s\n", input_path, strerror(errno));
    return EXIT_IO;
  }
  static char inbuf[1 << 16];
  setvbuf(in, inbuf, _IOFBF, sizeof inbuf);
  Arena arena = {0};
  Loans loans = {0};
  Table loan_ids = {0}, borrower_ids = {0};
  Borrowers borrowers = {0};
  Grades grades = {0};
  read_book(in, &arena, &loans, &loan_ids, &borrower_ids, &borrowers, &grades);
  fclose(in);

  // Expected loss and concentration: sums in input order (borrowers in order of first appearance).
  double *el = xrealloc(NULL, loans.n * sizeof *el);
  double total_el = 0, total_exposure = 0;
  for (size_t i = 0; i < loans.n; i++) {
    el[i] = loans.ead[i] * loans.pd[i] * loans.lgd[i];
    total_el += el[i];
    total_exposure += loans.ead[i];
  }
  if (total_exposure == 0) bad_line(loans.line[loans.n - 1], "%s", "the total exposure is zero");
  double hhi = 0;
  for (size_t b = 0; b < borrowers.n; b++) {
    double share = borrowers.exposure[b] / total_exposure;
    hhi += share * share;
  }
  uint32_t *rank = xrealloc(NULL, borrowers.n * sizeof *rank);
  for (size_t b = 0; b < borrowers.n; b++) rank[b] = (uint32_t)b;
  sort_borrowers = &borrowers;
  qsort(rank, borrowers.n, sizeof *rank, cmp_borrower);
  size_t top_n = borrowers.n < TOP_N ? borrowers.n : TOP_N;
  double top_share = 0;
  for (size_t k = 0; k < top_n; k++) top_share += borrowers.exposure[rank[k]] / total_exposure;

  for (size_t k = 0; k < grades.n; k++) {
    double pd = grades.pd[k];
    grades.threshold[k] = (pd > 0 && pd < 1) ? norm_inv(pd) : 0;
  }
  double ul = sqrt(loss_variance(&loans, &grades, rho, total_el));

  // Monte Carlo: per trial one factor draw, then one uniform per loan compared with its conditional PD.
  // Phi per grade per trial would dominate when every loan has its own PD, so grades (sorted by PD) are
  // cut into at most CHUNKS runs: the conditional PDs of a run's lowest and highest grade bound those of
  // every grade in it (p(Z) grows with pd), and only a uniform that falls between the bounds needs its
  // own grade's Phi. With few grades each run is one grade and the bounds are the answer.
  uint32_t *order = xrealloc(NULL, grades.n * sizeof *order);
  for (size_t k = 0; k < grades.n; k++) order[k] = (uint32_t)k;
  sort_grades = &grades;
  qsort(order, grades.n, sizeof *order, cmp_grade);
  size_t chunks = grades.n < CHUNKS ? grades.n : CHUNKS;
  uint32_t *chunk_of = xrealloc(NULL, grades.n * sizeof *chunk_of);
  uint32_t *chunk_lo = xrealloc(NULL, chunks * sizeof *chunk_lo);
  uint32_t *chunk_hi = xrealloc(NULL, chunks * sizeof *chunk_hi);
  for (size_t c = 0; c < chunks; c++) {
    size_t first = c * grades.n / chunks, last = (c + 1) * grades.n / chunks - 1;
    chunk_lo[c] = order[first];
    chunk_hi[c] = order[last];
    for (size_t k = first; k <= last; k++) chunk_of[order[k]] = (uint32_t)c;
  }
  uint32_t *loan_chunk = xrealloc(NULL, loans.n * sizeof *loan_chunk);
  double *weight = xrealloc(NULL, loans.n * sizeof *weight);
  for (size_t i = 0; i < loans.n; i++) {
    loan_chunk[i] = chunk_of[loans.grade[i]];
    weight[i] = loans.ead[i] * loans.lgd[i];
  }
  double *p_lo = xrealloc(NULL, chunks * sizeof *p_lo);
  double *p_hi = xrealloc(NULL, chunks * sizeof *p_hi);
  double *loss = xrealloc(NULL, trials * sizeof *loss);
  Rng rng;
  uint64_t sm = seed;
  for (int k = 0; k < 4; k++) rng.s[k] = splitmix64(&sm);
  double sum = 0, sum2 = 0;
  for (uint64_t t = 0; t < trials; t++) {
    double z = rng_normal(&rng);
    for (size_t c = 0; c < chunks; c++) {
      p_lo[c] = conditional_pd(&grades, chunk_lo[c], z, rho);
      p_hi[c] = chunk_hi[c] == chunk_lo[c] ? p_lo[c] : conditional_pd(&grades, chunk_hi[c], z, rho);
    }
    double l = 0;
    for (size_t i = 0; i < loans.n; i++) {
      double u = rng_uniform(&rng);
      uint32_t c = loan_chunk[i];
      if (u >= p_hi[c]) continue;
      if (u < p_lo[c] || u < conditional_pd(&grades, loans.grade[i], z, rho)) l += weight[i];
    }
    loss[t] = l;
    sum += l;
    sum2 += l * l;
  }
  double mc_mean = sum / (double)trials;
  double mc_var = trials > 1 ? (sum2 - sum * mc_mean) / (double)(trials - 1) : 0;
  double mc_sd = sqrt(mc_var > 0 ? mc_var : 0);
  qsort(loss, trials, sizeof *loss, cmp_double);
  double var_at[N_LEVELS], es_at[N_LEVELS];
  for (size_t q = 0; q < N_LEVELS; q++) {
    // The smallest loss with at least level*trials trials at or below it; ES averages it and beyond.
    uint64_t idx = (TAIL_LEVELS[q] * trials + 9999) / 10000 - 1;
    var_at[q] = loss[idx];
    double tail = 0;
    for (uint64_t t = idx; t < trials; t++) tail += loss[t];
    es_at[q] = tail / (double)(trials - idx);
  }

  FILE *out = fopen(output_path, "w");
  if (out == NULL) {
    fprintf(stderr, "credit_risk: cannot create %s: %s\n", output_path, strerror(errno));
    return EXIT_IO;
  }
  static char outbuf[1 << 16];
  setvbuf(out, outbuf, _IOFBF, sizeof outbuf);
  const char *names = arena.bytes;
  fprintf(out, "{\n  \"model\": \"one-factor Gaussian copula (Vasicek), deterministic LGD\",\n");
  fprintf(out, "  \"loans\": %zu,\n  \"borrowers\": %zu,\n", loans.n, borrowers.n);
  fprintf(out, "  \"trials\": %llu,\n  \"seed\": %llu,\n  \"rho\": ", (unsigned long long)trials,
          (unsigned long long)seed);
  put_num(out, rho);
  fprintf(out, ",\n  \"total_exposure\": ");
  put_num(out, total_exposure);
  fprintf(out, ",\n  \"expected_loss\": ");
  put_num(out, total_el);
  fprintf(out, ",\n  \"unexpected_loss\": ");
  put_num(out, ul);
  fprintf(out, ",\n  \"simulated_mean_loss\": ");
  put_num(out, mc_mean);
  fprintf(out, ",\n  \"simulated_sd_loss\": ");
  put_num(out, mc_sd);
  fprintf(out, ",\n  \"tail\": [");
  for (size_t q = 0; q < N_LEVELS; q++) {
    fprintf(out, "%s\n    { \"level\": ", q == 0 ? "" : ",");
    put_num(out, TAIL_LEVELS[q] / 10000.0);
    fprintf(out, ", \"var\": ");
    put_num(out, var_at[q]);
    fprintf(out, ", \"expected_shortfall\": ");
    put_num(out, es_at[q]);
    fprintf(out, " }");
  }
  fprintf(out, "\n  ],\n  \"hhi\": ");
  put_num(out, hhi);
  fprintf(out, ",\n  \"top10_share\": ");
  put_num(out, top_share);
  fprintf(out, ",\n  \"top_borrowers\": [");
  for (size_t k = 0; k < top_n; k++) {
    uint32_t b = rank[k];
    fprintf(out, "%s\n    { \"borrower_id\": \"%s\", \"exposure\": ", k == 0 ? "" : ",",
            names + borrower_ids.names[b]);
    put_num(out, borrowers.exposure[b]);
    fprintf(out, ", \"share\": ");
    put_num(out, borrowers.exposure[b] / total_exposure);
    fprintf(out, " }");
  }
  fprintf(out, "\n  ],\n  \"borrower_shares\": [");
  for (size_t b = 0; b < borrowers.n; b++) {
    fprintf(out, "%s\n    { \"borrower_id\": \"%s\", \"exposure\": ", b == 0 ? "" : ",",
            names + borrower_ids.names[b]);
    put_num(out, borrowers.exposure[b]);
    fprintf(out, ", \"share\": ");
    put_num(out, borrowers.exposure[b] / total_exposure);
    fprintf(out, " }");
  }
  fprintf(out, "\n  ],\n  \"loan_expected_loss\": [");
  for (size_t i = 0; i < loans.n; i++) {
    fprintf(out, "%s\n    { \"loan_id\": \"%s\", \"expected_loss\": ", i == 0 ? "" : ",",
            names + loans.loan_name[i]);
    put_num(out, el[i]);
    fprintf(out, " }");
  }
  fprintf(out, "\n  ]\n}\n");
  if (ferror(out) || fclose(out) != 0) {
    fprintf(stderr, "credit_risk: cannot write %s: %s\n", output_path, strerror(errno));
    return EXIT_IO;
  }

  printf("credit risk: %zu loans, %zu borrowers, %llu trials (seed %llu, rho %g)\n", loans.n, borrowers.n,
         (unsigned long long)trials, (unsigned long long)seed, rho);
  printf("  total exposure      %18.2f\n", total_exposure);
  printf("  expected loss       %18.2f\n", total_el);
  printf("  unexpected loss     %18.2f  (standard deviation of the loss)\n", ul);
  for (size_t q = 0; q < N_LEVELS; q++)
    printf("  VaR %5.1f%%          %18.2f  expected shortfall %.2f\n", TAIL_LEVELS[q] / 100.0, var_at[q],
           es_at[q]);
  printf("  HHI                 %18.6f  (effective number of borrowers %.1f)\n", hhi, 1 / hhi);
  printf("  top %zu borrowers hold %.2f%% of the exposure:\n", top_n, 100 * top_share);
  for (size_t k = 0; k < top_n; k++) {
    uint32_t b = rank[k];
    printf("    %-20s %18.2f  %6.2f%%\n", names + borrower_ids.names[b], borrowers.exposure[b],
           100 * borrowers.exposure[b] / total_exposure);
  }
  printf("report: %s\n", output_path);
  return 0;
}
