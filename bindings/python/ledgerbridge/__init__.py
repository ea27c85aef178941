"""ledgerbridge for Python: the rules engine of libledgerbridge.so through ctypes.

    import ledgerbridge
    engine = ledgerbridge.Engine(now="2026-01-15")
    pack = engine.load_pack("rules/demo", directory="examples/data/directory.yaml")
    outcome = pack.evaluate(item_json)      # str, bytes or dict
    outcome.status, outcome.decisions, outcome.failure, outcome.documents

An ERP of your own: subclass `Erp` and pass it as `directory=`. Its methods are called from the
engine (possibly from several threads at once); an exception in one fails the item being
evaluated, it never crashes the process.

The whole Pleo workflow (export jobs -> rules -> ERP, exactly once) for the companies of a
configuration file, with your Erp taking the documents:

    summary = engine.run("ledgerbridge.toml", company="6513270e-...", erp=MyErp(),
                         on_progress=lambda company, job, done, total: ...)
    for job in summary.companies[0].jobs: job.final_event, job.successful, job.failures

or `run = engine.new_run(...)`, `run.execute()`, and `run.cancel()` from another thread.
"""
from __future__ import annotations

import ctypes
import datetime as _dt
import enum
import json
import threading
from dataclasses import dataclass, field
from os import PathLike, fspath
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from . import _native

__all__ = [
    "Engine", "RulePack", "Outcome", "Failure", "Erp", "ErpError", "ErpErrorKind", "LogLevel",
    "LedgerbridgeError", "InvalidArgument", "InputError", "NotFound", "PackError", "DirectoryError",
    "CallbackError", "OutOfMemory", "InternalError", "ConfigError", "version",
    "Run", "RunSummary", "CompanySummary", "JobSummary",
]

_lib = _native.load()


# ---- errors -------------------------------------------------------------------------------------

class LedgerbridgeError(Exception):
    """A failed call; `status` is the C ABI's ledgerbridge_status."""

    status = -1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(LedgerbridgeError, ValueError):
    status = 1


class InputError(LedgerbridgeError, ValueError):
    """The item is not valid JSON or not a valid Pleo v3 export item (the message has the path)."""
    status = 2


class NotFound(LedgerbridgeError, FileNotFoundError):
    status = 3


class PackError(LedgerbridgeError):
    """The rule pack is invalid or a rule does not compile (the message has file:line)."""
    status = 4


class DirectoryError(LedgerbridgeError):
    status = 5


class CallbackError(LedgerbridgeError):
    status = 6


class OutOfMemory(LedgerbridgeError, MemoryError):
    status = 7


class InternalError(LedgerbridgeError):
    status = 8


class ConfigError(LedgerbridgeError):
    """The run configuration is invalid (file:line), or no company of a run could start."""
    status = 9


_ERRORS = {cls.status: cls for cls in (InvalidArgument, InputError, NotFound, PackError, DirectoryError,
                                        CallbackError, OutOfMemory, InternalError, ConfigError)}


def _check(status: int, error: ctypes.c_void_p) -> None:
    message = ""
    if error.value:
        message = ctypes.string_at(error.value).decode("utf-8", "replace")
        _lib.ledgerbridge_free(error)
    if status != 0:
        name = _lib.ledgerbridge_status_name(status).decode()
        raise _ERRORS.get(status, LedgerbridgeError)(message or name)


def version() -> str:
    return _lib.ledgerbridge_version().decode()


# ---- outcomes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    type: str     # one of Pleo's failureReasonType values
    message: str  # for the bookkeeper


@dataclass(frozen=True)
class Outcome:
    """What the rules decided for one item. `raw` is the whole outcome object as the engine wrote it."""
    accounting_entry_id: str
    status: str                                # "decided" | "skipped" | "failed"
    failure: Optional[Failure] = None          # when failed
    reason: Optional[str] = None               # when skipped
    decisions: Optional[Dict[str, Any]] = None  # when decided: method, direction, vendor
    documents: List[Dict[str, Any]] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    trace: Optional[Dict[str, Any]] = None     # with evaluate(..., trace=True)
    raw: Dict[str, Any] = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        return self.status == "decided"

    @classmethod
    def _from_json(cls, text: str, trace: Optional[str]) -> "Outcome":
        o = json.loads(text)
        failure = o.get("failure")
        decisions = None
        if o.get("status") == "decided":
            decisions = {k: v for k, v in o.items()
                         if k not in ("accountingEntryId", "status", "warnings", "documents")}
        return cls(
            accounting_entry_id=o.get("accountingEntryId", ""),
            status=o.get("status", ""),
            failure=Failure(failure.get("type", ""), failure.get("message", "")) if failure else None,
            reason=o.get("reason"),
            decisions=decisions,
            documents=list(o.get("documents") or []),
            warnings=list(o.get("warnings") or []),
            trace=json.loads(trace) if trace else None,
            raw=o,
        )


# ---- the host's ERP ------------------------------------------------------------------------------

class ErpErrorKind(enum.IntEnum):
    VALIDATION = 1
    UNREACHABLE = 2
    AUTH = 3
    RATE_LIMIT = 4
    TIMEOUT = 5
    CONFLICT = 6
    ATTACHMENT = 7


class ErpError(Exception):
    """Raise from an Erp method to tell the engine why the ERP refused or failed. Any other
    exception counts as UNREACHABLE with its text."""

    def __init__(self, kind: ErpErrorKind, message: str, retry_after_ms: int = 0):
        super().__init__(message)
        self.kind = ErpErrorKind(kind)
        self.message = message
        self.retry_after_ms = retry_after_ms


Record = Optional[Mapping[str, Any]]


class Erp:
    """The host's ERP. Override what your ERP knows; the defaults know nothing.

    Directory methods (what rules ask through ctx.erp) return a dict shaped like an entry of a
    directory file (accounts: code, name, currency, blocked; vendors: code, name, externalId,
    taxNumber, registrationNumber, currency, payablesAccount, blocked; tax codes: code, name,
    rate, type, ingoingTaxAccount, outgoingTaxAccount, blocked; dimension values: dimension,
    code, name, blocked), or None for an unknown key. Answers are cached per loaded pack.

    post / lookup / upload_attachment are where the Pleo workflow (Engine.run, Run) sends the
    documents of a company whose ERP this is; they are called on the thread that executes the run.

    `capabilities` says what the ERP takes as receipts (domain brief §2.8), as
    ledgerbridge_erp_set_capabilities reads it: {"singleAttachment": True} makes a run merge an
    item's receipts into one PDF before upload_attachment; "maxAttachmentBytes" and
    "attachmentTypes" (MIME types) limit what is sent. None: several files of any type, 30 MB each.
    """

    capabilities: Optional[Mapping[str, Any]] = None

    def account(self, code: str) -> Record:
        return None

    def vendor_by_code(self, code: str) -> Record:
        return None

    def vendor_by_external_id(self, external_id: str) -> Record:
        return None

    def vendor_by_tax_number(self, tax_number: str) -> Record:
        return None

    def tax_code(self, code: str) -> Record:
        return None

    def dimension_value(self, dimension: str, code: str) -> Record:
        return None

    def period_open(self, date: str) -> bool:
        return True

    def next_open_date(self, date: str) -> Optional[str]:
        return date[:10]

    def post(self, document: Dict[str, Any]) -> Mapping[str, Any]:
        """Write one document; return {"externalId": ..., "url": ...}."""
        raise ErpError(ErpErrorKind.UNREACHABLE, f"{type(self).__name__} does not post documents")

    def lookup(self, external_key: str) -> Record:
        """The document posted under external_key: {"externalId", "url"} or None."""
        return None

    def upload_attachment(self, posted: Dict[str, Any], attachment: Dict[str, Any], data: bytes) -> None:
        raise ErpError(ErpErrorKind.ATTACHMENT, f"{type(self).__name__} takes no attachments")


_QUERIES = {
    1: lambda erp, k, k2: erp.account(k),
    2: lambda erp, k, k2: erp.vendor_by_code(k),
    3: lambda erp, k, k2: erp.vendor_by_external_id(k),
    4: lambda erp, k, k2: erp.vendor_by_tax_number(k),
    5: lambda erp, k, k2: erp.tax_code(k),
    6: lambda erp, k, k2: erp.dimension_value(k, k2),
    7: lambda erp, k, k2: bool(erp.period_open(k)),
    8: lambda erp, k, k2: erp.next_open_date(k),
}

# C keeps a host ERP until the last pack using it is freed, then calls release: the Python side
# (the callbacks and the Erp object) lives in this registry until then, whatever Python frees.
_live: Dict[int, "_ErpBinding"] = {}
_live_lock = threading.Lock()
_next_id = 0


def _reply_json(reply: int, value: Any) -> int:
    data = json.dumps(value).encode()
    return _lib.ledgerbridge_reply_json(reply, data, len(data))


def _reply_exception(reply: int, e: BaseException) -> int:
    if isinstance(e, ErpError):
        kind, retry, message = int(e.kind), max(0, int(e.retry_after_ms)), e.message
    else:
        kind, retry, message = int(ErpErrorKind.UNREACHABLE), 0, f"{type(e).__name__}: {e}"
    _lib.ledgerbridge_reply_error(reply, kind, retry, message.encode("utf-8", "replace"))
    return CallbackError.status


class _ErpBinding:
    """The C callbacks for one Erp object. Every callback catches everything: an exception must
    not unwind through C frames."""

    def __init__(self, erp: Erp):
        self.erp = erp
        self.directory = _native.DIRECTORY_FN(self._directory)
        self.post = _native.POST_FN(self._post)
        self.lookup = _native.LOOKUP_FN(self._lookup)
        self.upload = _native.UPLOAD_FN(self._upload)

    def _directory(self, _ud, query, key, key2, reply):
        try:
            k = key.decode("utf-8")
            k2 = key2.decode("utf-8") if key2 is not None else None
            answer = _QUERIES[query](self.erp, k, k2)
            if answer is None:
                return 0
            return _reply_json(reply, dict(answer) if isinstance(answer, Mapping) else answer)
        except BaseException as e:  # noqa: B036 - nothing may escape into C
            return _reply_exception(reply, e)

    def _post(self, _ud, document_json, reply):
        try:
            posted = self.erp.post(json.loads(document_json.decode("utf-8")))
            return _reply_json(reply, dict(posted))
        except BaseException as e:  # noqa: B036
            return _reply_exception(reply, e)

    def _lookup(self, _ud, external_key, reply):
        try:
            found = self.erp.lookup(external_key.decode("utf-8"))
            return 0 if found is None else _reply_json(reply, dict(found))
        except BaseException as e:  # noqa: B036
            return _reply_exception(reply, e)

    def _upload(self, _ud, posted_json, attachment_json, data, size, reply):
        try:
            self.erp.upload_attachment(json.loads(posted_json.decode()), json.loads(attachment_json.decode()),
                                       ctypes.string_at(data, size) if size else b"")
            return 0
        except BaseException as e:  # noqa: B036
            return _reply_exception(reply, e)


def _release_binding(user_data) -> None:
    try:
        with _live_lock:
            _live.pop(user_data or 0, None)
    except BaseException:  # noqa: B036 - e.g. at interpreter shutdown
        pass


# One for all bindings, alive with the module: the callback that frees a binding must not be
# freed while it runs.
_release = _native.RELEASE_FN(_release_binding)


def _new_erp_handle(erp: Erp) -> ctypes.c_void_p:
    global _next_id
    binding = _ErpBinding(erp)
    with _live_lock:
        _next_id += 1
        key = _next_id
        _live[key] = binding
    handle, error = ctypes.c_void_p(), ctypes.c_void_p()
    status = _lib.ledgerbridge_erp_new(binding.directory, binding.post, binding.lookup, binding.upload,
                                       _release, ctypes.c_void_p(key), ctypes.byref(handle),
                                       ctypes.byref(error))
    if status != 0:
        with _live_lock:
            _live.pop(key, None)
    _check(status, error)
    if erp.capabilities is not None:
        if not hasattr(_lib, "ledgerbridge_erp_set_capabilities"):
            _lib.ledgerbridge_erp_free(handle)
            raise LedgerbridgeError("this libledgerbridge predates ledgerbridge_erp_set_capabilities (LEDGERBRIDGE_1.2)")
        error = ctypes.c_void_p()
        status = _lib.ledgerbridge_erp_set_capabilities(handle, json.dumps(dict(erp.capabilities)).encode(),
                                                        ctypes.byref(error))
        if status != 0:
            _lib.ledgerbridge_erp_free(handle)
        _check(status, error)
    return handle


# ---- engine and packs ---------------------------------------------------------------------------

class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


Now = Union[int, str, _dt.date, _dt.datetime, None]


def _epoch(now: Now) -> int:
    if now is None:
        return 0
    if isinstance(now, int):
        return now
    if isinstance(now, str):
        now = _dt.datetime.fromisoformat(now.replace("Z", "+00:00")) if "T" in now else _dt.date.fromisoformat(now)
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=_dt.timezone.utc)
        return int(now.timestamp())
    return int(_dt.datetime(now.year, now.month, now.day, tzinfo=_dt.timezone.utc).timestamp())


class Engine:
    """What every pack shares: the rules' clock, logging and the operator's limit ceiling.

    now: the rules' frozen clock (epoch seconds, ISO date or date-time, date or datetime; naive
    means UTC). None: the wall clock, read once when each pack loads.
    log: called as log(level, message), possibly from several threads; exceptions are ignored.
    It also receives the workflow's messages while a Run created afterwards executes.
    max_memory_mb (1-4096), max_hook_cpu_ms (1-60000): the most a pack's pack.toml [limits] may
    set, after extends (a pack that sets none has 64 MiB and 100 ms). A pack above it does not
    load (PackError naming the pack, the limit, its value and the ceiling); in a Run it replaces
    the configuration file's [limits] value. None: no ceiling (the engine maxima).
    """

    def __init__(self, now: Now = None, log: Optional[Callable[[LogLevel, str], None]] = None,
                 log_level: LogLevel = LogLevel.INFO, max_memory_mb: Optional[int] = None,
                 max_hook_cpu_ms: Optional[int] = None):
        # Checked here, so that 0 (the C ABI's "no ceiling") is not taken for a ceiling of 0.
        for name, value, most in (("max_memory_mb", max_memory_mb, 4096), ("max_hook_cpu_ms", max_hook_cpu_ms, 60000)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most):
                raise InvalidArgument(f"{name}: expected an integer 1-{most} or None, got {value!r}")
        ceiling = max_memory_mb is not None or max_hook_cpu_ms is not None
        if ceiling and not hasattr(_lib, "ledgerbridge_engine_set_limit_ceiling"):
            raise LedgerbridgeError("this libledgerbridge predates ledgerbridge_engine_set_limit_ceiling (LEDGERBRIDGE_1.3)")
        handle, error = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.ledgerbridge_engine_new(ctypes.byref(handle), ctypes.byref(error)), error)
        self._handle: Optional[ctypes.c_void_p] = handle
        self._log_fn = None
        status = _lib.ledgerbridge_engine_set_now(handle, _epoch(now))
        if status != 0:
            self.close()
            raise InvalidArgument(f"now: {now!r} is not a valid time")
        if ceiling:
            status = _lib.ledgerbridge_engine_set_limit_ceiling(handle, max_memory_mb or 0, max_hook_cpu_ms or 0)
            if status != 0:
                self.close()
                raise InvalidArgument(f"max_memory_mb={max_memory_mb!r}, max_hook_cpu_ms={max_hook_cpu_ms!r}")
        if log is not None:
            def forward(_ud, level, message):
                try:
                    log(LogLevel(level), message.decode("utf-8", "replace"))
                except BaseException:  # noqa: B036 - a broken logger must not break evaluation
                    pass
            # Packs keep calling it after the engine is gone: keep it alive with the module.
            self._log_fn = _native.LOG_FN(forward)
            _KEEP.append(self._log_fn)
            _lib.ledgerbridge_engine_set_log(handle, self._log_fn, int(log_level), None)

    def load_pack(self, path: Union[str, PathLike], settings: Optional[Mapping[str, Any]] = None,
                  directory: Union[str, PathLike, Erp, None] = None) -> "RulePack":
        """Loads and compiles a rule pack. directory: a directory file or CSV folder, an Erp, or None."""
        if self._handle is None:
            raise InvalidArgument("the engine is closed")
        erp_handle = None
        directory_path = None
        if isinstance(directory, Erp):
            erp_handle = _new_erp_handle(directory)
        elif directory is not None:
            directory_path = fspath(directory).encode()
        pack, error = ctypes.c_void_p(), ctypes.c_void_p()
        try:
            status = _lib.ledgerbridge_pack_load(
                self._handle, fspath(path).encode(),
                json.dumps(dict(settings) if isinstance(settings, Mapping) else settings).encode()
                if settings is not None else None,
                directory_path, erp_handle, ctypes.byref(pack), ctypes.byref(error))
        finally:
            # The pack holds the ERP from here on; release() drops the callbacks after it.
            if erp_handle is not None:
                _lib.ledgerbridge_erp_free(erp_handle)
        _check(status, error)
        return RulePack(pack)

    def new_run(self, config: Union[str, PathLike], company: Optional[str] = None,
                erp: Union[Erp, Mapping[str, Erp], None] = None,
                on_progress: Optional[ProgressCallback] = None) -> "Run":
        """A run of the Pleo workflow for the companies of a configuration file; see Run."""
        return Run(self, config, company=company, erp=erp, on_progress=on_progress)

    def run(self, config: Union[str, PathLike], company: Optional[str] = None,
            erp: Union[Erp, Mapping[str, Erp], None] = None,
            on_progress: Optional[ProgressCallback] = None) -> "RunSummary":
        """Runs the Pleo workflow once (Run(...).execute()) and returns its summary."""
        with self.new_run(config, company=company, erp=erp, on_progress=on_progress) as run:
            return run.execute()

    def close(self) -> None:
        """Frees the engine. Packs loaded from it stay usable."""
        if self._handle is not None:
            _lib.ledgerbridge_engine_free(self._handle)
            self._handle = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


_KEEP: List[Any] = []  # log callbacks: small, one per Engine with a logger


class RulePack:
    """A loaded rule pack. evaluate() may be called from several threads at once (the GIL is
    released while the engine works)."""

    def __init__(self, handle: ctypes.c_void_p):
        self._handle: Optional[ctypes.c_void_p] = handle
        self.name: str = _lib.ledgerbridge_pack_name(handle).decode()

    def evaluate(self, item: Union[str, bytes, Mapping[str, Any]], trace: bool = False) -> Outcome:
        """Evaluates one Pleo v3 export item. Raises InputError for one that is not valid."""
        if self._handle is None:
            raise InvalidArgument("the rule pack is closed")
        if isinstance(item, Mapping):
            data = json.dumps(item).encode()
        elif isinstance(item, str):
            data = item.encode()
        else:
            data = bytes(item)
        result, error = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.ledgerbridge_pack_evaluate(self._handle, data, len(data), 1 if trace else 0,
                                               ctypes.byref(result), ctypes.byref(error)), error)
        try:
            n = ctypes.c_size_t()
            text = ctypes.string_at(_lib.ledgerbridge_result_outcome_json(result, ctypes.byref(n)), n.value)
            t = _lib.ledgerbridge_result_trace_json(result, ctypes.byref(n))
            trace_text = ctypes.string_at(t, n.value).decode() if t else None
        finally:
            _lib.ledgerbridge_result_free(result)
        return Outcome._from_json(text.decode(), trace_text)

    def close(self) -> None:
        if self._handle is not None:
            _lib.ledgerbridge_pack_free(self._handle)
            self._handle = None

    def __enter__(self) -> "RulePack":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# ---- running the Pleo workflow ------------------------------------------------------------------

ProgressCallback = Callable[[str, str, int, int], None]  # (company_id, job_id, done, total)


@dataclass(frozen=True)
class JobSummary:
    """One export job as this run left it."""
    id: str
    final_event: Optional[str]  # "completed" | "completed_with_errors" | "failed"; None: not finished
    stopped: Optional[str]      # why the run left the job unfinished ("cancelled", ...)
    claimed_here: bool
    resumed: bool
    successful: int
    failed: int
    skipped: int
    already_final: int
    documents_posted: int
    documents_recovered: int
    reexports: int
    failures: Dict[str, int]    # by Pleo's failureReasonType
    job_entry_members: int = 0  # items booked in one entry per export job (posting.one_entry_per_job)

    @property
    def finished(self) -> bool:
        return self.final_event is not None

    @classmethod
    def _from(cls, j: Mapping[str, Any]) -> "JobSummary":
        return cls(id=j["id"], final_event=j.get("final_event"), stopped=j.get("stopped"),
                   claimed_here=bool(j.get("claimed_here")), resumed=bool(j.get("resumed")),
                   successful=int(j.get("successful", 0)), failed=int(j.get("failed", 0)),
                   skipped=int(j.get("skipped", 0)), already_final=int(j.get("already_final", 0)),
                   documents_posted=int(j.get("documents_posted", 0)),
                   documents_recovered=int(j.get("documents_recovered", 0)),
                   reexports=int(j.get("reexports", 0)), failures=dict(j.get("failures") or {}),
                   job_entry_members=int(j.get("job_entry_members", 0)))


@dataclass(frozen=True)
class CompanySummary:
    id: str
    name: str
    error: Optional[str]  # why the company stopped or could not start
    started: bool         # False: its set-up (credentials, pack, ERP) failed, nothing ran
    jobs_skipped: int     # in_progress jobs another integration claimed
    jobs: List[JobSummary]

    @classmethod
    def _from(cls, c: Mapping[str, Any]) -> "CompanySummary":
        return cls(id=c["id"], name=c.get("name", ""), error=c.get("error"), started=bool(c.get("started")),
                   jobs_skipped=int(c.get("jobs_skipped", 0)),
                   jobs=[JobSummary._from(j) for j in c.get("jobs") or []])


@dataclass(frozen=True)
class RunSummary:
    cancelled: bool
    companies: List[CompanySummary]
    raw: Dict[str, Any] = field(default_factory=dict)  # the C ABI's JSON summary

    @property
    def jobs(self) -> List[JobSummary]:
        return [j for c in self.companies for j in c.jobs]

    @classmethod
    def _from_json(cls, text: str) -> "RunSummary":
        o = json.loads(text)
        return cls(cancelled=bool(o.get("cancelled")),
                   companies=[CompanySummary._from(c) for c in o.get("companies") or []], raw=o)


class Run:
    """The Pleo workflow for the companies of a TOML configuration file (`ledgerbridge run`).

    company: only this company id of the file (None: all). erp: an Erp for `company`, or a mapping
    company id -> Erp; such a company's documents go to it instead of its configured ERP (and its
    rules ask it their ctx.erp questions). on_progress(company_id, job_id, done, total) is called
    after each item; if it raises, the run is cancelled and execute() re-raises the exception.

    execute() runs on the calling thread (the GIL is released while the engine works) and returns
    a RunSummary; item and job failures are in it, not exceptions. cancel() may be called from any
    thread: the run stops before its next item and leaves the job resumable by the next execute().
    The engine's clock and logger are those it has when the Run is created. Raises NotFound (no
    such file or company), ConfigError (invalid file; or, from execute, no company could start).
    """

    def __init__(self, engine: Engine, config: Union[str, PathLike], company: Optional[str] = None,
                 erp: Union[Erp, Mapping[str, Erp], None] = None,
                 on_progress: Optional[ProgressCallback] = None):
        if not hasattr(_lib, "ledgerbridge_run_new"):
            raise LedgerbridgeError("this libledgerbridge.so cannot run the workflow (no ledgerbridge_run_new)")
        if engine._handle is None:
            raise InvalidArgument("the engine is closed")
        self._lock = threading.Lock()
        self._executing = False
        self._handle: Optional[ctypes.c_void_p] = None
        self._progress_error: Optional[BaseException] = None
        handle, error = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.ledgerbridge_run_new(engine._handle, fspath(config).encode(),
                                         company.encode() if company is not None else None,
                                         ctypes.byref(handle), ctypes.byref(error)), error)
        self._handle = handle
        try:
            if isinstance(erp, Erp):
                if company is None:
                    raise InvalidArgument("erp=Erp(...) needs company=...; or pass {company_id: Erp}")
                self.set_erp(company, erp)
            elif erp is not None:
                for company_id, e in erp.items():
                    self.set_erp(company_id, e)
            self._progress = None
            if on_progress is not None:
                self._progress = _native.PROGRESS_FN(self._make_progress(on_progress))
                if _lib.ledgerbridge_run_set_progress(handle, self._progress, None) != 0:
                    raise InvalidArgument("cannot set the progress callback")
        except BaseException:
            self.close()
            raise

    def _make_progress(self, on_progress: ProgressCallback):
        def forward(_ud, company_id, job_id, done, total):
            try:
                on_progress(company_id.decode(), job_id.decode(), int(done), int(total))
            except BaseException as e:  # noqa: B036 - nothing may escape into C
                if self._progress_error is None:
                    self._progress_error = e
                self.cancel()
        return forward

    def set_erp(self, company_id: str, erp: Optional[Erp]) -> None:
        """Uses `erp` for the company's documents and directory (None: its configured ERP again)."""
        with self._lock:
            if self._handle is None:
                raise InvalidArgument("the run is closed")
            if self._executing:
                raise InvalidArgument("the run is executing")
            erp_handle = _new_erp_handle(erp) if erp is not None else None
            error = ctypes.c_void_p()
            try:
                status = _lib.ledgerbridge_run_set_erp(self._handle, company_id.encode(), erp_handle,
                                                       ctypes.byref(error))
            finally:
                if erp_handle is not None:
                    _lib.ledgerbridge_erp_free(erp_handle)  # the run holds its own reference
            _check(status, error)

    def execute(self) -> RunSummary:
        """Runs every company once; returns when done or cancelled."""
        with self._lock:
            if self._handle is None:
                raise InvalidArgument("the run is closed")
            if self._executing:
                raise InvalidArgument("the run is already executing")
            self._executing = True
            handle = self._handle
        self._progress_error = None
        summary, error = ctypes.c_void_p(), ctypes.c_void_p()
        try:
            status = _lib.ledgerbridge_run_execute(handle, ctypes.byref(summary), ctypes.byref(error))
        finally:
            with self._lock:
                self._executing = False
        try:
            _check(status, error)
            text = ctypes.string_at(summary.value).decode("utf-8")
        finally:
            if summary.value:
                _lib.ledgerbridge_free(summary)
        if self._progress_error is not None:
            e, self._progress_error = self._progress_error, None
            raise e
        return RunSummary._from_json(text)

    def cancel(self) -> None:
        """Asks an executing run to stop before its next item (or the next execute, if none runs).
        Any thread."""
        with self._lock:
            if self._handle is not None:
                _lib.ledgerbridge_run_cancel(self._handle)

    def close(self) -> None:
        """Frees the run. Raises InvalidArgument while it executes (cancel() it and wait)."""
        with self._lock:
            if self._executing:
                raise InvalidArgument("the run is executing: cancel() it and wait for execute() to return")
            if self._handle is not None:
                _lib.ledgerbridge_run_free(self._handle)
                self._handle = None

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
