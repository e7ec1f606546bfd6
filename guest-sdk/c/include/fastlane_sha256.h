/* SHA-256 (FIPS 180-4), incremental. Part of the fastlane C guest SDK.
 *
 *   struct fl_sha256 h;
 *   fl_sha256_init(&h);
 *   fl_sha256_update(&h, salt, salt_len);
 *   struct fl_sha256 per_value = h;          // the state is a plain value: copy it to reuse a prefix
 *   fl_sha256_update(&per_value, value, len);
 *   char hex[65];
 *   fl_sha256_final_hex(&per_value, hex);    // 64 lowercase hex digits + NUL
 */
#ifndef FASTLANE_SHA256_H
#define FASTLANE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The running state of one SHA-256 computation; copy it freely. */
struct fl_sha256 {
  uint32_t state[8];
  uint64_t length;     /* bytes hashed so far */
  uint8_t block[64];   /* pending bytes of the current block */
  size_t block_len;
};

/** Starts a new hash. */
void fl_sha256_init(struct fl_sha256* h);

/** Adds `len` bytes. */
void fl_sha256_update(struct fl_sha256* h, const void* data, size_t len);

/** Finishes the hash into 32 bytes; `h` is spent afterwards. */
void fl_sha256_final(struct fl_sha256* h, uint8_t digest[32]);

/** Finishes the hash as 64 lowercase hex digits followed by a NUL. */
void fl_sha256_final_hex(struct fl_sha256* h, char hex[65]);

#ifdef __cplusplus
}
#endif

#endif
