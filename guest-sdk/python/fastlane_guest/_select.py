"""Row selection on raw Arrow buffers (what `Table.filter` does to every column).

A `Selection` is built once per filter from the mask. Variable-width data is cut into slices of
the runs of kept rows; a fixed-width buffer too when the runs are few, otherwise its rows are
picked one by one with `itertools.compress`. Every loop runs in C (map, compress, accumulate,
join): no Python bytecode runs per row.
"""

from array import array
from itertools import accumulate, compress, islice, repeat
from operator import mul, sub

from . import _bits

_LANE_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
_OFFSET_CODES = {4: "i", 8: "q"}


class Selection:
    """The rows kept by a mask of row bytes (0/1 per row)."""

    __slots__ = ("mask", "n", "kept", "_bounds", "_lane_masks")

    def __init__(self, mask):
        self.mask = mask
        self.n = len(mask)
        self.kept = mask.count(1)
        self._bounds = None
        self._lane_masks = {}

    def runs(self):
        """([start], [end]) of the runs of kept rows, found at C speed: a run starts where a
        row is kept and the previous one is not, and ends after a kept row whose next is not
        (row bytes are 0/1, so big-integer AND/NOT work byte by byte)."""
        if self._bounds is None:
            n = self.n
            bits = int.from_bytes(self.mask, "little")
            ones = (1 << (8 * n)) - 1
            first = (bits & ~(bits << 8) & ones).to_bytes(n, "little")
            last = (bits & ~(bits >> 8)).to_bytes(n, "little")
            self._bounds = (list(compress(range(n), first)),
                            list(compress(range(1, n + 1), last)))
        return self._bounds

    def _few_runs(self):
        """True when cutting runs beats picking rows one by one."""
        return len(self.runs()[0]) * 8 < self.n

    # -- plain sequences ------------------------------------------------------------------------

    def values(self, values):
        """The kept items of a Python list."""
        return list(compress(values, self.mask))

    def rows(self, rows):
        """The kept bytes of a row-bytes sequence."""
        return bytes(compress(rows, self.mask))

    # -- buffers --------------------------------------------------------------------------------

    def bitmap(self, bitmap):
        """The kept bits of an LSB-first bitmap, packed again."""
        return _bits.pack(self.rows(_bits.unpack(bitmap, self.n)))

    def fixed(self, data, width):
        """The kept values of a fixed-width buffer (`width` bytes per value)."""
        view = memoryview(data)[: self.n * width]
        if self._few_runs():
            starts, ends = self.runs()
            blob = bytes(view)
            return b"".join(map(blob.__getitem__, map(
                slice, map(mul, starts, repeat(width)), map(mul, ends, repeat(width)))))
        lane = 8 if width % 8 == 0 else 4 if width % 4 == 0 else 2 if width % 2 == 0 else 1
        code = _LANE_CODES[lane]
        lanes = view.cast(code)
        return array(code, compress(lanes, self._lane_mask(width // lane))).tobytes()

    def variable(self, offsets, data, offset_width):
        """The kept values of an offsets + data pair; returns (offsets, data), rebased at 0.

        Data is cut by runs of kept rows (never more pieces than kept rows); the new offsets
        are the running sum of the kept rows' lengths."""
        code = _OFFSET_CODES[offset_width]
        offs = memoryview(offsets)[: (self.n + 1) * offset_width].cast(code).tolist()
        lengths = compress(map(sub, islice(offs, 1, None), offs), self.mask)
        out_offsets = array(code, accumulate(lengths, initial=0)).tobytes()
        starts, ends = self.runs()
        blob = bytes(data)
        get = offs.__getitem__
        out_data = b"".join(map(blob.__getitem__, map(slice, map(get, starts), map(get, ends))))
        return out_offsets, out_data

    def _lane_mask(self, lanes):
        """The mask with each row byte repeated `lanes` times."""
        if lanes == 1:
            return self.mask
        mask = self._lane_masks.get(lanes)
        if mask is None:
            mask = bytearray(self.n * lanes)
            for k in range(lanes):
                mask[k::lanes] = self.mask
            self._lane_masks[lanes] = mask
        return mask
