// `write FILE TEXT` creates FILE with TEXT; `read FILE` prints "read TEXT" or the errno name. Run on a
// protected volume keyed by the sealing key (`twine run --pfs DIR::/data --seal program|signer`).
// PFS_VARIANT makes a second, different module from the same source (attest_pfs_other.c).
#include "guest.h"

#ifndef PFS_VARIANT
#define PFS_VARIANT "attest_pfs"
#endif

int main(int argc, char **argv) {
  printf("variant %s\n", PFS_VARIANT);
  if (argc < 3) return 2;
  if (strcmp(argv[1], "write") == 0 && argc == 4) {
    FILE *f = fopen(argv[2], "w");
    if (f == NULL) return report("open", errno), 1;
    int ok = fputs(argv[3], f) >= 0;
    if (fclose(f) != 0 || !ok) return report("write", errno), 1;
    printf("wrote\n");
    return 0;
  }
  char buf[256];
  FILE *f = fopen(argv[2], "r");
  if (f == NULL) return report("open", errno), 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  printf("read %s\n", buf);
  return 0;
}
