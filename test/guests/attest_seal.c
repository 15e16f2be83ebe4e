// Seals and unseals through the host: `seal program|signer TEXT` prints the sealed buffer in hex;
// `unseal program|signer HEX` prints the plaintext or the return code. SEAL_VARIANT makes a second,
// different module from the same source (attest_seal_other.c) for the "another program" case.
// guest-flags: -I../../include
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "twine_attest.h"

#ifndef SEAL_VARIANT
#define SEAL_VARIANT "attest_seal"
#endif

static const uint8_t AAD[] = "twine-test-aad";
static uint8_t out[4096];

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int main(int argc, char **argv) {
  printf("variant %s\n", SEAL_VARIANT);
  if (argc != 4) return 2;
  uint32_t policy = strcmp(argv[2], "signer") == 0 ? TWINE_SEAL_SIGNER : TWINE_SEAL_PROGRAM;
  uint32_t out_len = 0;
  if (strcmp(argv[1], "seal") == 0) {
    const char *text = argv[3];
    uint32_t n = (uint32_t)strlen(text);
    int rc = twine_seal(policy, AAD, sizeof AAD, (const uint8_t *)text, n, out, 4, &out_len);
    printf("small_buffer %d needs %u\n", rc, (unsigned)out_len);
    rc = twine_seal(policy, AAD, sizeof AAD, (const uint8_t *)text, n, out, sizeof out, &out_len);
    printf("seal %d\n", rc);
    if (rc != 0) return 1;
    printf("sealed ");
    for (uint32_t i = 0; i < out_len; i++) printf("%02x", out[i]);
    printf("\n");
    return 0;
  }
  static uint8_t sealed[4096];
  size_t hl = strlen(argv[3]);
  if (hl % 2 != 0 || hl / 2 > sizeof sealed) return 2;
  for (size_t i = 0; i < hl / 2; i++) {
    int a = hexval(argv[3][2 * i]), b = hexval(argv[3][2 * i + 1]);
    if (a < 0 || b < 0) return 2;
    sealed[i] = (uint8_t)(a * 16 + b);
  }
  int rc = twine_unseal(policy, AAD, sizeof AAD, sealed, (uint32_t)(hl / 2), out, sizeof out - 1, &out_len);
  printf("unseal %d\n", rc);
  if (rc == 0) {
    out[out_len] = 0;
    printf("plaintext %s\n", (char *)out);
  }
  rc = twine_unseal(policy, AAD, sizeof AAD - 1, sealed, (uint32_t)(hl / 2), out, sizeof out - 1, &out_len);
  printf("unseal_other_aad %d\n", rc);
  return 0;
}
