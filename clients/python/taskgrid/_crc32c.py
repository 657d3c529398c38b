"""CRC-32C (Castagnoli), the checksum Worker.PutData verifies per value.

The standard library has only CRC-32, so this is computed here: byte by
byte from a table for small inputs, and for large ones with numpy, which
runs the table lookups down many equal slices of the data at once and then
joins the slices' checksums (CRC is linear over GF(2), so shifting a
checksum past n zero bytes is a 32x32 bit-matrix product).

Thread-safe: module-level tables are built once at import.
"""
try:
    import numpy as np
except ImportError:  # numpy is optional on the client
    np = None

_POLY = 0x82F63B78  # reflected Castagnoli polynomial


def _make_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (_POLY if c & 1 else 0)
        table.append(c)
    return table


_TABLE = _make_table()
_NP_TABLE = np.array(_TABLE, dtype=np.uint32) if np is not None else None
_SMALL = 1 << 14  # below this, the plain loop is as fast


def _update(register, data):
    t = _TABLE
    for b in data:
        register = (register >> 8) ^ t[(register ^ b) & 0xFF]
    return register


def _apply(columns, v):
    """The bit matrix `columns` (32 uint32: the images of each bit) times
    each register in array v."""
    bits = (v[:, None] >> np.arange(32, dtype=np.uint32)) & np.uint32(1)
    return np.bitwise_xor.reduce(bits * columns[None, :], axis=1).astype(np.uint32)


def _shift_columns(nbytes):
    """The matrix that moves a register past `nbytes` zero bytes."""
    c = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    for _ in range(nbytes):
        c = (c >> np.uint32(8)) ^ _NP_TABLE[c & np.uint32(0xFF)]
    return c


def _register_numpy(data):
    """The CRC register over `data` (uint8 array) starting from 0."""
    n = len(data)
    width = max(128, n >> 16)  # ~65k slices: few, wide numpy steps
    rows = -(-n // width)
    rows_pow2 = 1 << (rows - 1).bit_length()
    # Leading zero bytes leave a register that starts at 0 unchanged.
    padded = np.zeros(rows_pow2 * width, dtype=np.uint8)
    padded[len(padded) - n:] = data
    columns = np.ascontiguousarray(padded.reshape(rows_pow2, width).T)
    regs = np.zeros(rows_pow2, dtype=np.uint32)
    for col in columns:
        regs = (regs >> np.uint32(8)) ^ _NP_TABLE[(regs ^ col) & np.uint32(0xFF)]
    shift = _shift_columns(width)
    while len(regs) > 1:
        regs = _apply(shift, regs[0::2]) ^ regs[1::2]
        shift = np.array([_apply(shift, shift[i:i + 1])[0] for i in range(32)], dtype=np.uint32)
    return int(regs[0])


def crc32c(data):
    """The CRC-32C of bytes-like `data`."""
    data = memoryview(data).cast("B")
    if np is None or len(data) < _SMALL:
        return _update(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    # Starting from all ones is the same as starting from 0 with the first
    # four bytes inverted.
    arr = np.frombuffer(data, dtype=np.uint8).copy()
    arr[:4] ^= np.uint8(0xFF)
    return _register_numpy(arr) ^ 0xFFFFFFFF
