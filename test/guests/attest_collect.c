// Collects lib-rats evidence over argv[1] (with its NUL, as the lib-rats macro passes it), parses it,
// asks the host to verify it, and prints: the evidence JSON, the parsed report data, MRENCLAVE and
// MRSIGNER in hex, and the return codes. The host test checks all of it against the module hash.
// guest-flags: -I../../include -Wl,--export=malloc -Wl,--export=free
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "twine_attest.h"

// The wasm32 layout the host writes (src/tee/guest-imports.ts RATS_SGX_EVIDENCE).
_Static_assert(offsetof(rats_sgx_evidence_t, quote_size) == 8192, "quote_size");
_Static_assert(offsetof(rats_sgx_evidence_t, user_data) == 8196, "user_data");
_Static_assert(offsetof(rats_sgx_evidence_t, product_id) == 8260, "product_id");
_Static_assert(offsetof(rats_sgx_evidence_t, mr_enclave) == 8264, "mr_enclave");
_Static_assert(offsetof(rats_sgx_evidence_t, security_version) == 8296, "security_version");
_Static_assert(offsetof(rats_sgx_evidence_t, mr_signer) == 8300, "mr_signer");
_Static_assert(offsetof(rats_sgx_evidence_t, att_flags) == 8336, "att_flags");
_Static_assert(offsetof(rats_sgx_evidence_t, att_xfrm) == 8344, "att_xfrm");
_Static_assert(sizeof(rats_sgx_evidence_t) == 8352, "size");

static void print_hex(const char *what, const uint8_t *b, size_t n) {
  printf("%s ", what);
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

static rats_sgx_evidence_t evidence;

int main(int argc, char **argv) {
  const char *nonce = argc > 1 ? argv[1] : "";
  char *json = NULL;
  int rc = librats_collect(&json, nonce);
  printf("collect %d\n", rc);
  if (rc != 0 || json == NULL) return 1;
  printf("json %s\n", json);
  rc = librats_parse_evidence(json, &evidence);
  printf("parse %d\n", rc);
  if (rc != 0) return 1;
  printf("quote_size %u\n", (unsigned)evidence.quote_size);
  print_hex("user_data", evidence.user_data, sizeof evidence.user_data);
  print_hex("mr_enclave", evidence.mr_enclave, sizeof evidence.mr_enclave);
  print_hex("mr_signer", evidence.mr_signer, sizeof evidence.mr_signer);
  printf("verify %d\n", librats_verify(json, evidence.user_data));
  uint8_t other[32] = {0};
  printf("verify_other_hash %d\n", librats_verify(json, other));
  json[20] ^= 1;
  printf("parse_corrupt %d\n", librats_parse_evidence(json, &evidence));
  json[20] ^= 1;
  printf("bad_pointer %d\n", (librats_collect)((char **)0xfffffff0u, nonce, 1));
  librats_dispose_evidence_json(json);
  return 0;
}
