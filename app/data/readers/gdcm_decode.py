"""The fallback pixel decoder: GDCM (python-gdcm) reads what pydicom's handlers cannot, such as the 12-bit
lossy JPEG (JPEG Extended) of older MR/NM files, where libjpeg stops at "A misplaced marker segment" and
pydicom refuses its GDCM plugin for 12-bit JPEG Extended; GDCM's own codec decodes them.

    decode_with_gdcm(path) -> (pixels, photometric): (frames, rows, cols[, samples]) in the stored type

GDCM ends the whole process on some damaged data (a floating-point trap in its RLE codec, an uncaught C++
exception in its JPEG-LS one), which no Python code can catch: it decodes in a process of its own, so a damaged
file is one clear error instead of the viewer vanishing with the user's last edits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.readers.native_stderr import native_stderr_captured

_DTYPES = {"UINT8": np.uint8, "INT8": np.int8, "UINT12": np.uint16, "UINT16": np.uint16, "INT12": np.int16,
           "INT16": np.int16, "UINT32": np.uint32, "INT32": np.int32, "FLOAT32": np.float32, "FLOAT64": np.float64}


def available() -> bool:
    try:
        import gdcm  # noqa: F401
    except ImportError:
        return False
    return True


def _quiet(gdcm) -> None:
    for off in ("WarningOff", "ErrorOff", "DebugOff"):
        getattr(gdcm.Trace, off, lambda: None)()


def decode_with_gdcm(path: str | Path) -> tuple[np.ndarray, str]:
    """Pixels of the DICOM file at `path` decoded by GDCM in a child process; ValueError saying why when GDCM
    cannot, or when it ended its process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if multiprocessing.current_process().daemon:  # a Dask worker may start no process: its nanny restarts it
        return _decode(path)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(_decode, str(path)).result()
        except BrokenProcessPool:
            raise ValueError("GDCM stopped on damaged pixel data") from None


def _decode(path: str | Path) -> tuple[np.ndarray, str]:
    import gdcm

    _quiet(gdcm)
    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    with native_stderr_captured():  # GDCM's JPEG codec prints warnings with C stdio: kept off our one line
        if not reader.Read():
            raise ValueError("GDCM cannot read the file")
        image = reader.GetImage()
        buffer = image.GetBuffer()
    fmt = image.GetPixelFormat()
    dtype = _DTYPES.get(fmt.GetScalarTypeAsString())
    if dtype is None:
        raise ValueError(f"GDCM pixel type {fmt.GetScalarTypeAsString()} is not supported")
    dims = [image.GetDimension(i) for i in range(image.GetNumberOfDimensions())]
    cols, rows = dims[0], dims[1]
    frames = dims[2] if len(dims) > 2 else 1
    samples = int(fmt.GetSamplesPerPixel())
    raw = buffer.encode("utf-8", errors="surrogateescape") if isinstance(buffer, str) else bytes(buffer)
    expected = frames * rows * cols * samples * np.dtype(dtype).itemsize
    if len(raw) < expected:
        raise ValueError(f"GDCM decoded {len(raw)} bytes, {expected} expected")
    data = np.frombuffer(raw[:expected], dtype=dtype)
    shape = (frames, rows, cols, samples) if samples > 1 else (frames, rows, cols)
    photometric = str(image.GetPhotometricInterpretation().GetString() or "").strip()
    return data.reshape(shape).copy(), photometric
