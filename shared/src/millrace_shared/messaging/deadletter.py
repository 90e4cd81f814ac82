"""Dead-letter handling and retries as broker middleware, so no handler repeats them.

Each failure is classified (``millrace_shared.faults``):

- poison (the body cannot be parsed or validated, the object it names is missing or refused):
  to ``<topic>.dlq`` at once;
- transient (S3, Kafka or the registry unreachable, timing out, answering 5xx): tried again
  with capped exponential backoff and jitter for as long as the outage lasts. The handler
  holds on to the message meanwhile, so its offset is not committed and its consumer takes
  no later record (a subscriber with ``max_workers`` has several consumers, each with its own
  partitions: the others keep flowing); the outage is reported to the runtime's
  ``DependencyHealth`` for ``/health/ready``;
- anything else (likely a bug): ``max_attempts`` tries, then the DLQ.

A batch decoder hands the records it cannot parse to ``set_aside``, so they go to the DLQ alone
and the rest of their batch is handled. The original value, key and headers are kept, with
``x-millrace-dlq-*`` headers saying why and where it came from. The consumer then moves on. If
the dead-letter publish itself fails, the error propagates and the message is not committed,
so it is redelivered rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from millrace_contracts import DLQ_SUFFIX
from opentelemetry import trace

from ..faults import FaultKind, PoisonMessage, classify, is_poison
from ..health import DependencyHealth
from ..records import DLQ_HEADER_PREFIX as HEADER_PREFIX
from ..telemetry import Attr

__all__ = ["DeadLetterMiddleware", "PoisonMessage", "is_poison", "set_aside", "transient_delay"]

logger = logging.getLogger("millrace.dlq")

DlqPublish = Callable[[bytes, str, bytes | None, dict[str, str]], Awaitable[None]]
"""(value, topic, key, headers) -> None."""

SetAside = dict[tuple[str, int, int], tuple[Any, BaseException]]
_set_aside: ContextVar[SetAside] = ContextVar("millrace_dlq_set_aside")


Sleep = Callable[[float], Awaitable[None]]


def transient_delay(
    failures: int, *, base: float, cap: float, jitter: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after the ``failures``-th transient failure in a row: ``base`` doubled
    each time up to ``cap``, then scaled into [50 %, 100 %] so replicas do not retry in step."""
    exponent = min(failures - 1, 32)  # 2**32 * base is past any cap; no float overflow
    return float(min(cap, base * 2.0**exponent) * (0.5 + jitter() / 2))


def set_aside(record: Any, error: BaseException) -> None:
    """From a batch subscriber's decoder: dead-letter this one record, not its whole batch.

    The middleware publishes it when the batch is done, once however often the handler is
    retried; the handler gets the other records.
    """
    _set_aside.get()[_position(record)] = (record, error)


class DeadLetterMiddleware:
    """Broker middleware factory: ``KafkaBroker(middlewares=[..., DeadLetterMiddleware(...)])``."""

    def __init__(
        self,
        *,
        service: str,
        max_attempts: int,
        backoff_seconds: float,
        transient_backoff_max_seconds: float = 30.0,
        health: DependencyHealth | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.service = service
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.transient_backoff_max_seconds = transient_backoff_max_seconds
        self.health = health if health is not None else DependencyHealth()
        self.sleep = sleep
        """How retries wait; tests replace it to see the delays without waiting them."""
        self._publish: DlqPublish | None = None
        self.dead_lettered = 0

    def bind(self, publish: DlqPublish) -> None:
        """Give the middleware its way out; done once the broker it belongs to exists."""
        self._publish = publish

    def __call__(self, msg: Any, /, *, context: Any) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, owner=self)

    async def send(self, record: Any, error: BaseException, attempts: int) -> None:
        """The one place a dead letter is built and published."""
        if self._publish is None:
            raise RuntimeError("DeadLetterMiddleware used before bind()")
        headers = {k: _text(v) for k, v in (record.headers or ())}
        reason = f"{type(error).__name__}: {error}"[:2000]
        headers.update(
            {
                f"{HEADER_PREFIX}reason": reason,
                f"{HEADER_PREFIX}error-type": type(error).__name__,
                f"{HEADER_PREFIX}kind": "poison" if is_poison(error) else "exhausted",
                f"{HEADER_PREFIX}attempts": str(attempts),
                f"{HEADER_PREFIX}original-topic": record.topic,
                f"{HEADER_PREFIX}original-partition": str(record.partition),
                f"{HEADER_PREFIX}original-offset": str(record.offset),
                f"{HEADER_PREFIX}service": self.service,
                f"{HEADER_PREFIX}failed-at": datetime.now(UTC).isoformat(),
            }
        )
        span = trace.get_current_span()
        span.set_attribute(Attr.DLQ_REASON, reason)
        await self._publish(record.value or b"", record.topic + DLQ_SUFFIX, record.key, headers)
        self.dead_lettered += 1
        logger.warning(
            "dead-lettered %s[%s]@%s after %d attempt(s): %s",
            record.topic,
            record.partition,
            record.offset,
            attempts,
            reason,
        )


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, owner: DeadLetterMiddleware) -> None:
        super().__init__(msg, context=context)
        self.owner = owner
        self.attempts = 0
        """Tries of the handler, whatever their outcome (the DLQ header's count)."""
        self.failures = 0
        """Failures that were neither transient nor poison: bounded by ``max_attempts``."""
        self.set_aside: SetAside = {}

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        token = _set_aside.set(self.set_aside)  # for the decoder, which runs inside call_next
        owner = self.owner
        outage = 0  # transient failures in a row
        try:
            while True:
                self.attempts += 1
                try:
                    return await call_next(msg)
                except (HandlerException, asyncio.CancelledError):
                    raise
                except Exception as error:
                    fault = classify(error)
                    if fault.kind is FaultKind.POISON:
                        raise
                    if fault.kind is FaultKind.TRANSIENT:
                        outage += 1
                        dependency = fault.dependency or "unknown"
                        owner.health.failing(dependency, error, holder=self)
                        delay = transient_delay(
                            outage,
                            base=max(owner.backoff_seconds, 0.05),
                            cap=owner.transient_backoff_max_seconds,
                        )
                        # Loud once per outage, quiet while it lasts.
                        logger.log(
                            logging.WARNING if outage == 1 else logging.INFO,
                            "%s unavailable (try %d), retrying in %.1fs without committing: %r",
                            dependency,
                            outage,
                            delay,
                            error,
                        )
                        await owner.sleep(delay)
                        continue
                    outage = 0
                    self.failures += 1
                    if self.failures >= owner.max_attempts:
                        raise
                    delay = owner.backoff_seconds * 2 ** (self.failures - 1)
                    logger.info(
                        "handler failed (attempt %d/%d), retrying in %.1fs: %r",
                        self.failures,
                        owner.max_attempts,
                        delay,
                        error,
                    )
                    await owner.sleep(delay)
        finally:
            # Handled, dead-lettered or cancelled: this message waits on nothing any more.
            owner.health.release(self)
            _set_aside.reset(token)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is not None and (
            not isinstance(exc_val, Exception) or isinstance(exc_val, HandlerException)
        ):
            return False  # not committed: redelivered, and its bad records set aside again
        for record, error in self.set_aside.values():
            await self.owner.send(record, error, 1)
        if exc_val is None:
            return False
        # A batch subscriber's message is a sequence of records (a tuple from aiokafka, a list
        # from FastStream's test broker).
        records = self.msg if isinstance(self.msg, tuple | list) else (self.msg,)
        for record in records:
            if _position(record) not in self.set_aside:
                await self.owner.send(record, exc_val, max(self.attempts, 1))
        return True


def _position(record: Any) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")
