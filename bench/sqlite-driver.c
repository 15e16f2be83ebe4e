// SQLite workload driver for bench/pfs-sqlite.ts: N inserts in 1000-row transactions, N/4 indexed
// range selects, N/2 random point selects, N/2 updates and N/4 deletes in 500-row transactions.
// Prints a checksum so runs on different mounts can be compared.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

static unsigned long long rng = 88172645463325252ull;
static unsigned next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (unsigned)(rng >> 11); }

static sqlite3 *db;
static void exec(const char *sql) {
  char *err = 0;
  if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) { fprintf(stderr, "sql error: %s (%s)\n", err, sql); exit(1); }
}
static sqlite3_stmt *prep(const char *sql) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db, sql, -1, &s, 0) != SQLITE_OK) { fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db)); exit(1); }
  return s;
}
static void step_done(sqlite3_stmt *s) {
  if (sqlite3_step(s) != SQLITE_DONE) { fprintf(stderr, "step: %s\n", sqlite3_errmsg(db)); exit(1); }
  sqlite3_reset(s);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: sqlite-bench DB [N]\n"); return 2; }
  int n = argc > 2 ? atoi(argv[2]) : 20000;
  remove(argv[1]);
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) { fprintf(stderr, "open: %s\n", sqlite3_errmsg(db)); return 1; }
  exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; PRAGMA cache_size=-2000;");
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT); CREATE INDEX tk ON t(k);");
  char text[128];
  sqlite3_stmt *ins = prep("INSERT INTO t(id, k, v) VALUES(?, ?, ?)");
  for (int i = 0; i < n; i++) {
    if (i % 1000 == 0) exec("BEGIN");
    int len = 20 + next() % 80;
    for (int j = 0; j < len; j++) text[j] = 'a' + next() % 26;
    sqlite3_bind_int(ins, 1, i + 1);
    sqlite3_bind_int(ins, 2, next() % (n * 4));
    sqlite3_bind_text(ins, 3, text, len, SQLITE_TRANSIENT);
    step_done(ins);
    if (i % 1000 == 999 || i == n - 1) exec("COMMIT");
  }
  sqlite3_finalize(ins);
  long long sum = 0;
  sqlite3_stmt *byk = prep("SELECT count(*), sum(length(v)) FROM t WHERE k BETWEEN ? AND ?");
  for (int i = 0; i < n / 4; i++) {
    int k = next() % (n * 4);
    sqlite3_bind_int(byk, 1, k);
    sqlite3_bind_int(byk, 2, k + 20);
    if (sqlite3_step(byk) == SQLITE_ROW) sum += sqlite3_column_int64(byk, 0) + sqlite3_column_int64(byk, 1);
    sqlite3_reset(byk);
  }
  sqlite3_finalize(byk);
  sqlite3_stmt *byid = prep("SELECT v FROM t WHERE id = ?");
  for (int i = 0; i < n / 2; i++) {
    sqlite3_bind_int(byid, 1, 1 + next() % n);
    if (sqlite3_step(byid) == SQLITE_ROW) sum += sqlite3_column_bytes(byid, 0);
    sqlite3_reset(byid);
  }
  sqlite3_finalize(byid);
  sqlite3_stmt *upd = prep("UPDATE t SET v = v || 'x', k = k + 1 WHERE id = ?");
  for (int i = 0; i < n / 2; i++) {
    if (i % 500 == 0) exec("BEGIN");
    sqlite3_bind_int(upd, 1, 1 + next() % n);
    step_done(upd);
    if (i % 500 == 499 || i == n / 2 - 1) exec("COMMIT");
  }
  sqlite3_finalize(upd);
  sqlite3_stmt *del = prep("DELETE FROM t WHERE id = ?");
  for (int i = 0; i < n / 4; i++) {
    if (i % 500 == 0) exec("BEGIN");
    sqlite3_bind_int(del, 1, 1 + next() % n);
    step_done(del);
    if (i % 500 == 499 || i == n / 4 - 1) exec("COMMIT");
  }
  sqlite3_finalize(del);
  sqlite3_stmt *cnt = prep("SELECT count(*), sum(k) FROM t");
  if (sqlite3_step(cnt) == SQLITE_ROW) printf("rows %lld ksum %lld check %lld\n", sqlite3_column_int64(cnt, 0), sqlite3_column_int64(cnt, 1), sum);
  sqlite3_finalize(cnt);
  sqlite3_close(db);
  return 0;
}
