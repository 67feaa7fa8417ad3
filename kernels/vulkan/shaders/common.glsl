// Shared declarations: every shader uses one layout of five storage buffers
// (unused ones get a dummy buffer) and 32 words of push constants.
#extension GL_GOOGLE_include_directive : require

#define WG 64u

// Byte reads from a uint[] buffer (any alignment), little-endian.
#define DEFINE_BYTE_READS(BUF)                                                        \
  uint rd8(uint b) { return (BUF[b >> 2] >> ((b & 3u) * 8u)) & 0xFFu; }                 \
  int rds8(uint b) { return bitfieldExtract(int(rd8(b)), 0, 8); }                      \
  uint rd16(uint b) {                                                                 \
    return (b & 1u) == 0u ? ((BUF[b >> 2] >> ((b & 2u) * 8u)) & 0xFFFFu) : (rd8(b) | (rd8(b + 1u) << 8)); \
  }                                                                                   \
  float rdh(uint b) { return unpackHalf2x16(rd16(b)).x; }
