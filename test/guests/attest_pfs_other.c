// The same program as attest_pfs.c with another identity (different module bytes).
#define PFS_VARIANT "attest_pfs_other"
#include "attest_pfs.c"
