"""ctypes declarations of libledgerbridge.so (bindings/c/ledgerbridge.h), and finding it."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import List, Optional

ABI_VERSION = 1  # LEDGERBRIDGE_ABI_VERSION of the header this module was written against

c_status = ctypes.c_int
c_char_pp = ctypes.POINTER(ctypes.c_char_p)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
# Callbacks get the reply as a plain pointer: it is only ever handed back to the library.
DIRECTORY_FN = ctypes.CFUNCTYPE(c_status, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_void_p)
POST_FN = ctypes.CFUNCTYPE(c_status, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
LOOKUP_FN = ctypes.CFUNCTYPE(c_status, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)
UPLOAD_FN = ctypes.CFUNCTYPE(c_status, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                             ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t, ctypes.c_void_p)
RELEASE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64,
                               ctypes.c_int64)


def _candidates() -> List[str]:
    """Where the library may be, most specific first."""
    names = ["libledgerbridge.so", "libledgerbridge.so.1"]
    env = os.environ.get("LEDGERBRIDGE_LIBRARY")
    if env:
        return [env]  # explicit: no guessing behind the user's back
    here = Path(__file__).resolve().parent
    found: List[str] = [str(here / n) for n in names]
    # An installed tree: <prefix>/lib/python3*/site-packages/ledgerbridge -> <prefix>/lib.
    for parent in list(here.parents)[:5]:
        for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            found += [str(parent / libdir / n) for n in names]
    system = ctypes.util.find_library("ledgerbridge")
    if system:
        found.append(system)
    found += names  # the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache)
    return found


def load() -> ctypes.CDLL:
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        _declare(lib)
        abi = lib.ledgerbridge_abi_version()
        if abi != ABI_VERSION:
            raise ImportError(f"{path} has ABI version {abi}, this package needs {ABI_VERSION}")
        return lib
    detail = "; ".join(errors) if errors else "not found"
    raise ImportError("cannot load libledgerbridge.so (set LEDGERBRIDGE_LIBRARY to its path): " + detail)


def _fn(lib: ctypes.CDLL, name: str, restype, *argtypes) -> None:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


def _declare(lib: ctypes.CDLL) -> None:
    vp = ctypes.c_void_p
    pvp = ctypes.POINTER(ctypes.c_void_p)
    _fn(lib, "ledgerbridge_version", ctypes.c_char_p)
    _fn(lib, "ledgerbridge_abi_version", ctypes.c_int)
    _fn(lib, "ledgerbridge_status_name", ctypes.c_char_p, c_status)
    _fn(lib, "ledgerbridge_free", None, vp)
    _fn(lib, "ledgerbridge_engine_new", c_status, pvp, pvp)
    _fn(lib, "ledgerbridge_engine_free", None, vp)
    _fn(lib, "ledgerbridge_engine_set_now", c_status, vp, ctypes.c_int64)
    _fn(lib, "ledgerbridge_engine_set_log", c_status, vp, LOG_FN, ctypes.c_int, vp)
    _fn(lib, "ledgerbridge_reply_json", c_status, vp, ctypes.c_char_p, ctypes.c_size_t)
    _fn(lib, "ledgerbridge_reply_error", c_status, vp, ctypes.c_int, ctypes.c_int64, ctypes.c_char_p)
    _fn(lib, "ledgerbridge_erp_new", c_status, DIRECTORY_FN, POST_FN, LOOKUP_FN, UPLOAD_FN, RELEASE_FN, vp, pvp, pvp)
    _fn(lib, "ledgerbridge_erp_free", None, vp)
    _fn(lib, "ledgerbridge_pack_load", c_status, vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, vp, pvp, pvp)
    _fn(lib, "ledgerbridge_pack_free", None, vp)
    _fn(lib, "ledgerbridge_pack_name", ctypes.c_char_p, vp)
    _fn(lib, "ledgerbridge_pack_evaluate", c_status, vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32, pvp, pvp)
    _fn(lib, "ledgerbridge_result_free", None, vp)
    _fn(lib, "ledgerbridge_result_status", ctypes.c_int, vp)
    _fn(lib, "ledgerbridge_result_outcome_json", vp, vp, ctypes.POINTER(ctypes.c_size_t))
    _fn(lib, "ledgerbridge_result_trace_json", vp, vp, ctypes.POINTER(ctypes.c_size_t))
    # LEDGERBRIDGE_1.1: the workflow. Optional, so that the package still loads an older library
    # for evaluating; Run then says what is missing.
    if hasattr(lib, "ledgerbridge_run_new"):
        _fn(lib, "ledgerbridge_run_new", c_status, vp, ctypes.c_char_p, ctypes.c_char_p, pvp, pvp)
        _fn(lib, "ledgerbridge_run_set_erp", c_status, vp, ctypes.c_char_p, vp, pvp)
        _fn(lib, "ledgerbridge_run_set_progress", c_status, vp, PROGRESS_FN, vp)
        _fn(lib, "ledgerbridge_run_execute", c_status, vp, pvp, pvp)
        _fn(lib, "ledgerbridge_run_cancel", c_status, vp)
        _fn(lib, "ledgerbridge_run_free", None, vp)
    # LEDGERBRIDGE_1.2: what a host ERP takes as attachments.
    if hasattr(lib, "ledgerbridge_erp_set_capabilities"):
        _fn(lib, "ledgerbridge_erp_set_capabilities", c_status, vp, ctypes.c_char_p, pvp)
    # LEDGERBRIDGE_1.3: the operator's ceiling on pack [limits].
    if hasattr(lib, "ledgerbridge_engine_set_limit_ceiling"):
        _fn(lib, "ledgerbridge_engine_set_limit_ceiling", c_status, vp, ctypes.c_int64, ctypes.c_int64)

