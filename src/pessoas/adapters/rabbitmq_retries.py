"""Dramatiq's retries, with one guarantee added: a message whose retry could not be sent is not acked.

Dramatiq's :class:`~dramatiq.middleware.Retries` retries a failed message by enqueueing a copy
(to the delay queue) from its ``after_process_message`` hook; the original is acked afterwards.
When that enqueue raises, the broker logs the hook's failure and the original is acked all the
same: the message would be gone. Here such a message is failed instead, so RabbitMQ
dead-letters it rather than dropping it. Only the public hook and ``Message.fail`` are used.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Retries

logger = logging.getLogger(__name__)


class RetriesThatNeverDrop(Retries):
    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        try:
            super().after_process_message(  # type: ignore[no-untyped-call]  # dramatiq is untyped here
                broker, message, result=result, exception=exception
            )
        except Exception:
            logger.exception(
                "the retry of message %s could not be enqueued: dead-lettering it instead of acking it",
                message.message_id,
            )
            message.fail()
