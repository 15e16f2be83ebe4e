// The same program as attest_seal.c with another identity (different module bytes, so another
// SHA-256): sealed data under the `program` policy must not open here, under `signer` it must.
// guest-flags: -I../../include
#define SEAL_VARIANT "attest_seal_other"
#include "attest_seal.c"
