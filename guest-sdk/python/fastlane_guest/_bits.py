"""Bitmaps and row masks at C speed.

Arrow stores validity and booleans as LSB-first bitmaps. Python has no vector type, so the SDK
works with "row bytes": one byte per row, 0 or 1. Converting between the two goes through Python
big integers and base-2 text (both linear-time in CPython), and two row-byte masks are combined
with one big-integer `&`.
"""

_REVERSE = bytes(int("{:08b}".format(i)[::-1], 2) for i in range(256))
_ASCII_TO_01 = bytes.maketrans(b"01", b"\x00\x01")
_01_TO_ASCII = bytes.maketrans(b"\x00\x01", b"01")
# Any non-zero byte -> 1.
_NONZERO_TO_1 = bytes([0] + [1] * 255)
_FLIP = bytes([1, 0]) + bytes(254)


try:
    _popcount = int.bit_count
except AttributeError:  # Python < 3.10
    def _popcount(value):
        return bin(value).count("1")


def unpack(bitmap, n):
    """Row bytes (0/1 per row) of the first `n` bits of an LSB-first bitmap."""
    if n == 0:
        return b""
    nbytes = (n + 7) >> 3
    reversed_bytes = bytes(bitmap[:nbytes]).translate(_REVERSE)
    if len(reversed_bytes) < nbytes:
        raise ValueError("bitmap of %d bytes is too short for %d rows" % (len(reversed_bytes), n))
    text = format(int.from_bytes(reversed_bytes, "big"), "0%db" % (nbytes * 8))
    return text[:n].encode("ascii").translate(_ASCII_TO_01)


def pack(rows):
    """LSB-first bitmap (not padded) of row bytes (each 0 or 1)."""
    n = len(rows)
    if n == 0:
        return b""
    nbytes = (n + 7) >> 3
    text = bytes(rows).translate(_01_TO_ASCII) + b"0" * (nbytes * 8 - n)
    return int(text, 2).to_bytes(nbytes, "big").translate(_REVERSE)


def count_set(bitmap, n):
    """Number of 1 bits among the first `n` bits of a bitmap."""
    if n == 0:
        return 0
    nbytes = (n + 7) >> 3
    value = int.from_bytes(bytes(bitmap[:nbytes]), "little") & ((1 << n) - 1)
    return _popcount(value)


def normalize(rows):
    """Row bytes with every non-zero byte turned into 1."""
    return bytes(rows).translate(_NONZERO_TO_1)


def flip(rows):
    """Row bytes with 0 and 1 swapped."""
    return rows.translate(_FLIP)


def both(a, b):
    """Row-wise AND of two row-byte masks of the same length."""
    n = len(a)
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(n, "little")


def all_set(n):
    """A bitmap of `n` 1 bits."""
    return pack(b"\x01" * n)
