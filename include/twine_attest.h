/*
 * Twine guest API: remote attestation (WAMR lib-rats compatible) and sealing.
 * Imports from module "env"; provided only when the runtime runs with a TEE (`twine run --tee ...`).
 * See docs/GUEST-API.md for the report data layout, the evidence JSON and the sealed format.
 *
 * Link your guest with   -Wl,--export=malloc -Wl,--export=free
 * librats_collect allocates the evidence JSON with the guest's own malloc (as WAMR's module_malloc does
 * for modules without an app heap); librats_dispose_evidence_json frees it with the guest's free.
 */
#ifndef TWINE_ATTEST_H
#define TWINE_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TWINE_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

/* Return codes of every call below (lib-rats guests test `!= 0`). */
#define TWINE_ATTEST_OK 0
#define TWINE_ATTEST_ERR_INVALID (-1)     /* malformed argument, JSON, quote or policy */
#define TWINE_ATTEST_ERR_FAULT (-2)       /* a pointer/length outside guest memory */
#define TWINE_ATTEST_ERR_NO_MEM (-3)      /* guest malloc missing or returned NULL */
#define TWINE_ATTEST_ERR_TEE (-4)         /* the TEE failed (no device, no sealing key, ...) */
#define TWINE_ATTEST_ERR_VERIFY (-5)      /* evidence rejected, or its report data differs from hash */
#define TWINE_ATTEST_ERR_UNSUPPORTED (-6) /* no verifier for this TEE, or not SGX evidence (parse) */
#define TWINE_ATTEST_ERR_AUTH (-7)        /* unseal: wrong identity, policy, aad, or changed data */
#define TWINE_ATTEST_ERR_SIZE (-8)        /* output buffer too small; *out_len holds the size needed */

/* As WAMR core/iwasm/libraries/lib-rats/lib_rats_common.h */
#define SGX_QUOTE_MAX_SIZE 8192
#define SGX_USER_DATA_SIZE 64
#define SGX_MEASUREMENT_SIZE 32
typedef struct rats_sgx_evidence {
    uint8_t quote[SGX_QUOTE_MAX_SIZE];        /* the quote */
    uint32_t quote_size;                      /* its size */
    uint8_t user_data[SGX_USER_DATA_SIZE];    /* REPORTDATA */
    uint32_t product_id;                      /* ISVPRODID */
    uint8_t mr_enclave[SGX_MEASUREMENT_SIZE]; /* MRENCLAVE */
    uint32_t security_version;                /* ISVSVN */
    uint8_t mr_signer[SGX_MEASUREMENT_SIZE];  /* MRSIGNER */
    uint64_t att_flags;                       /* ATTRIBUTES.FLAGS (bit 1: DEBUG) */
    uint64_t att_xfrm;                        /* ATTRIBUTES.XFRM */
} rats_sgx_evidence_t;

/*
 * Collects evidence whose report data is SHA-256(SHA-256(module bytes) || buffer[0..buffer_size))
 * followed by 32 zero bytes, as JSON {"type","report_base64","report_len"} in a NUL-terminated string
 * allocated with the guest's malloc. Free it with librats_dispose_evidence_json.
 */
TWINE_IMPORT("librats_collect")
int librats_collect(char **evidence_json, const char *buffer, uint32_t buffer_size);

/* Verifies evidence JSON and checks that its report data starts with the 32 bytes at hash. */
TWINE_IMPORT("librats_verify")
int librats_verify(const char *evidence_json, uint32_t evidence_size, const uint8_t *hash, uint32_t hash_size);

/* Parses SGX evidence JSON into *evidence (no verification). */
TWINE_IMPORT("librats_parse_evidence")
int librats_parse_evidence(const char *evidence_json, uint32_t json_size, rats_sgx_evidence_t *evidence,
                           uint32_t evidence_size);

TWINE_IMPORT("librats_dispose_evidence_json")
void librats_dispose_evidence_json(char *evidence_json);

/* The lib-rats convenience macros, as in WAMR's lib_rats_wrapper.h. */
#define librats_collect(evidence_json, buffer) \
    librats_collect(evidence_json, buffer, buffer ? strlen(buffer) + 1 : 0)
#define librats_verify(evidence_json, hash) \
    librats_verify(evidence_json, evidence_json ? strlen(evidence_json) + 1 : 0, hash, 32)
#define librats_parse_evidence(evidence_json, evidence) \
    librats_parse_evidence(evidence_json, evidence_json ? strlen(evidence_json) + 1 : 0, evidence, \
                           sizeof(rats_sgx_evidence_t))

/* Sealing: AES-256-GCM under a key only this TEE derives for this identity. */
#define TWINE_SEAL_PROGRAM 0u /* exact runtime measurement and exact module (SHA-256) */
#define TWINE_SEAL_SIGNER 1u  /* the runtime's signer only: survives runtime and program updates */
#define TWINE_SEAL_OVERHEAD 30u /* sealed size = plaintext size + TWINE_SEAL_OVERHEAD */

/* Seals in[0..in_len) with optional associated data; writes the sealed size to *out_len. */
TWINE_IMPORT("twine_seal")
int twine_seal(uint32_t policy, const uint8_t *aad, uint32_t aad_len, const uint8_t *in, uint32_t in_len,
               uint8_t *out, uint32_t out_cap, uint32_t *out_len);

/* Opens a sealed buffer; TWINE_ATTEST_ERR_AUTH under another identity, policy or aad. */
TWINE_IMPORT("twine_unseal")
int twine_unseal(uint32_t policy, const uint8_t *aad, uint32_t aad_len, const uint8_t *in, uint32_t in_len,
                 uint8_t *out, uint32_t out_cap, uint32_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* TWINE_ATTEST_H */
